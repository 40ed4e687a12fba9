"""BeatCut builder: seeded disjoint splits, no ground truth beside the queries, resumable and deterministic."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.analysis.media import probe
from bgmatch.training.beatcut.build import BuildConfig, build, main, split_media
from bgmatch.training.beatcut.layout import BenchLayout
from bgmatch.training.beatcut.plan import Track, plan_queries
from bgmatch.training.beatcut.sources import find_footage
from bgmatch.training.beatcut.splits import SPLITS, allocate, parse_counts, parse_fractions, split_names

#: The small split shared with test_evaluate.py (same folder and arguments: whichever module runs
#: first builds it, the other finds every query rendered).
SMALL_ARGS = ["--queries", "train=2,valid=2,test=40", "--fractions", "train=0.2,valid=0.15,test=0.65",
              "--duration", "15", "15", "--max-end", "60", "--size", "160x90", "--workers", "2", "--quiet"]


def build_small(tmp_path_factory: pytest.TempPathFactory, media_root: Path) -> Path:
    """Build (or find) the small BeatCut benchmark from the default real media, via its CLI, in a
    process whose torch has already run (as after other tests: the workers must not inherit it)."""
    import torch

    torch.ones(512, 512) @ torch.ones(512, 512)
    torch.nn.LSTM(8, 8)(torch.ones(4, 1, 8))
    out = tmp_path_factory.getbasetemp() / "beatcut-small"
    assert main([str(out), "--media-root", str(media_root), *SMALL_ARGS]) == 0
    return out


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory, media_root) -> Path:
    return build_small(tmp_path_factory, media_root)


def test_splits_are_disjoint_by_track_and_footage(small_bench: Path) -> None:
    layout = BenchLayout(small_bench)
    splits = layout.read_build()["splits"]
    tracks = {s: {t["key"] for t in splits[s]["tracks"]} for s in SPLITS}
    footage = {s: {Path(p).name for p in splits[s]["footage"]} for s in SPLITS}
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            assert not tracks[a] & tracks[b] and not footage[a] & footage[b], (a, b)
    assert len(tracks["test"]) >= 25 and sum(map(len, tracks.values())) >= 40
    for s in SPLITS:
        truth = layout.truth(s)
        assert len(truth) == {"train": 2, "valid": 2, "test": 40}[s]
        for record in truth.values():  # each query uses its own split's track and footage only
            assert record.track in tracks[s]
            assert set(record.sources) <= footage[s] and len(record.sources) >= 2


def test_query_folder_holds_only_silent_opaque_videos(small_bench: Path) -> None:
    layout = BenchLayout(small_bench)
    queries_root = small_bench / "queries"
    files = [p for p in queries_root.rglob("*") if p.is_file()]
    assert len(files) == 44
    assert all(re.fullmatch(r"q\d{4}\.mp4", p.name) for p in files)
    assert all(layout.truth_json(s).resolve().parent != queries_root for s in SPLITS)
    truth = layout.truth("test")
    keys = {r.track for r in truth.values()}
    for path in layout.query_videos("test")[:10]:
        info = probe(path)
        assert not info.has_audio
        assert info.duration_s == pytest.approx(truth[path.stem].duration_s, abs=0.05)
        data = path.read_bytes()
        for key in keys:  # neither the track's name nor its folder is written into the file
            assert Path(key).stem.encode() not in data and Path(key).parent.name.encode() not in data
    # Names are assigned in a shuffled order: they do not follow the tracks.
    order = [truth[q].track for q in sorted(truth)]
    assert order != sorted(order)


def test_queries_are_cut_on_the_true_tracks_beats_with_realistic_noise(small_bench: Path) -> None:
    truth = BenchLayout(small_bench).truth("test")
    gaps = np.concatenate([np.diff(r.cut_times_s) for r in truth.values()])
    assert np.all(gaps >= 0.4 - 1e-6)
    rates = [len(r.cut_times_s) / r.duration_s for r in truth.values()]
    assert 0.2 < np.median(rates) < 2.5
    edit = json.loads((small_bench / "truth" / "test" / "q0001.json").read_text())["edit"]
    assert edit["jitter_frames"] == 2 and edit["off_beat_share"] == pytest.approx(0.15)
    offsets = [r.offset_s for r in truth.values()]
    assert min(offsets) >= 2.0 and max(o + r.duration_s for o, r in zip(offsets, truth.values())) <= 60.0


def test_rebuild_skips_rendered_queries_and_rerenders_identically(small_bench: Path, tmp_path_factory,
                                                                  media_root: Path) -> None:
    layout = BenchLayout(small_bench)
    victim = layout.queries_dir("valid") / "q0002.mp4"
    before = victim.read_bytes()
    truth_before = layout.truth_json("valid").read_text()
    victim.unlink()
    build_small(tmp_path_factory, media_root)
    assert victim.read_bytes() == before  # seeded: the same video again, byte for byte
    assert layout.truth_json("valid").read_text() == truth_before
    assert not (small_bench / ".stage").exists()


def test_other_settings_do_not_resume_into_the_same_folder(small_bench: Path, media_root: Path) -> None:
    before = (small_bench / "build.json").read_text()
    config = BuildConfig(seed=1, queries={"test": 1}, fractions={"train": 0.2, "valid": 0.15, "test": 0.65},
                         duration_range_s=(15, 15), max_end_s=60.0)
    with pytest.raises(ConfigError, match="other settings"):
        build(small_bench, [media_root / "music"], media_root, config, show_bar=False)
    assert (small_bench / "build.json").read_text() == before


def _tracks(n: int) -> list[Track]:
    return [Track(f"pkg/t{i:03d}.ogg", Path(f"/m/pkg/t{i:03d}.ogg"), 100.0 + i) for i in range(n)]


def test_plan_is_seeded_and_independent_of_input_order(media_root: Path) -> None:
    config = BuildConfig(seed=5)
    tracks = _tracks(60)
    footage = find_footage(media_root)
    a = split_media(tracks, footage, config)
    b = split_media(tracks[::-1], footage[::-1], config)
    assert a == b
    c = split_media(tracks, footage, BuildConfig(seed=6))
    assert a[0] != c[0]
    plan = plan_queries(a[0]["test"], split="test", n_queries=45, config=config)
    assert plan == plan_queries(a[0]["test"], split="test", n_queries=45, config=config)
    assert sorted(q.query for q in plan) == [f"q{i:04d}" for i in range(1, 46)]
    uses = np.bincount([int(q.track[5:8]) for q in plan])
    assert set(uses[uses > 0]) <= {1, 2}  # 45 queries over 30 tracks: each used once or twice
    for q in plan:
        assert 15.0 <= q.duration_s <= 30.0 and q.offset_s >= config.lead_s
        assert q.offset_s + q.duration_s <= min(100.0 + int(q.track[5:8]), config.max_end_s) + 0.01


def test_allocation_and_parsing() -> None:
    assert allocate(10, {"train": 0.5, "valid": 0.25, "test": 0.25}) == {"train": 5, "valid": 3, "test": 2}
    assert allocate(3, {"train": 0.8, "valid": 0.1, "test": 0.1}, at_least=1) == {"train": 1, "valid": 1, "test": 1}
    assert allocate(4, {"test": 1.0}) == {"train": 0, "valid": 0, "test": 4}
    split = split_names([f"n{i}" for i in range(20)], {"train": 0.5, "valid": 0.2, "test": 0.3}, seed=0)
    assert [len(split[s]) for s in SPLITS] == [10, 4, 6]
    assert parse_counts("valid=3,test=4") == {"train": 0, "valid": 3, "test": 4}
    assert parse_fractions("train=1") == {"train": 1.0, "valid": 0.0, "test": 0.0}
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_counts("dev=3")
    with pytest.raises(ConfigError, match="no share"):
        BuildConfig(queries={"valid": 3}, fractions={"train": 1.0})
