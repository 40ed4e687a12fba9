"""The ground-truth BeatCut: a real MIDI piece rendered by fluidsynth, real footage, five editor styles."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.training.beatcut import edit
from bgmatch.training.beatcut.gt_build import GtConfig, build_gt, main as gt_main, plan_styled
from bgmatch.training.beatcut.gt_gallery import GalleryItem, assign_splits, reserved_groups
from bgmatch.training.beatcut.layout import BenchLayout
from bgmatch.training.beatcut.styles import STYLES, StyleCuts, TrackReference, hit_times
from bgmatch.training.beats.layout import default_src_dir, item_json, write_json
from bgmatch.training.beats.trainset import excluded, training_pieces
from bgmatch.training.eval_metrics import distance_to_beats
from bgmatch.training.evaluate import main as eval_main

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="needs fluidsynth (Debian fluidsynth)")

#: One short compound-meter tune (it has bar lines), one query per style.
TINY = GtConfig(midi_per_category=1, midi_categories=("compound",), recordings=(),
                queries={"train": 0, "valid": 0, "test": 5}, fractions={"test": 1.0}, duration_range_s=(6.0, 8.0),
                min_track_s=20.0)


def _no_engine_analysis(*_args, **_kwargs):
    raise AssertionError("the ground-truth editor called bgmatch's analyze_music")


def _build(out: Path, media_root: Path, config: GtConfig = TINY, events: list | None = None):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(edit, "analyze_music", _no_engine_analysis)
        mp.setattr("bgmatch.engine.analysis.rhythm.analyze_music", _no_engine_analysis)
        return build_gt(out, config, media_root=media_root, workers=1,
                        progress=None if events is None else lambda *e: events.append(e))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, media_root: Path) -> Path:
    out = tmp_path_factory.mktemp("gt") / "bench"
    events: list = []
    report = _build(out, media_root, events=events)
    assert len(report.rendered) == 5 and not report.failed
    assert [e[2].split()[0] for e in events] == ["piece"] + ["query"] * 5  # the progress protocol
    assert events[-1][:2] == (5, 5)
    return out


def _truths(root: Path) -> dict[str, dict]:
    return json.loads((root / "truth" / "test.json").read_text())["queries"]


def _track_times(root: Path, record: dict) -> tuple[np.ndarray, dict]:
    ref = json.loads((root / "reference.json").read_text())[record["track"]]
    return np.asarray(record["cut_times_s"]) + record["offset_s"], ref


def test_every_style_once_on_a_whole_rendered_piece(tiny: Path) -> None:
    truths = _truths(tiny)
    assert sorted(r["style"] for r in truths.values()) == sorted(STYLES)
    info = BenchLayout(tiny).read_build()
    assert info["config"]["max_end_s"] is None  # whole tracks
    (track,) = info["splits"]["test"]["tracks"]
    doc = json.loads((tiny / "midi" / "items" / Path(track["key"]).with_suffix(".json").name).read_text())
    assert doc["duration_s"] == pytest.approx(track["duration_s"], abs=0.01) and doc["duration_s"] >= 20
    ref = json.loads((tiny / "reference.json").read_text())[track["key"]]
    assert ref["source"] == "midi" and ref["beats_s"] == doc["beats_s"] and ref["downbeats_s"] == doc["downbeats_s"]
    assert ref["phrases_s"] == doc["downbeats_s"][::4]
    for record in truths.values():
        assert record["cut_times_s"], record["style"]


def test_cuts_are_where_each_style_says(tiny: Path) -> None:
    frame = 1 / TINY.edit.fps
    on_beat = n_cuts = 0
    for record in _truths(tiny).values():
        cuts, ref = _track_times(tiny, record)
        to_beat = distance_to_beats(cuts, np.asarray(ref["beats_s"]))
        style = record["style"]
        if style == "downbeats":  # bar lines only (a frame of jitter, half a frame of rounding)
            assert distance_to_beats(cuts, np.asarray(ref["downbeats_s"])).max() <= 1.6 * frame
        elif style == "phrases":  # every scene change on a phrase start, the other cuts on beats
            scenes = np.asarray(record["scene_cuts_s"]) + record["offset_s"]
            assert distance_to_beats(scenes, np.asarray(ref["phrases_s"])).max() <= 0.6 * frame
            assert to_beat.max() <= 2.6 * frame
        elif style in ("beats", "ramped"):  # on a beat (± 2 frames), or 25–75 % of the way to the next
            beats = np.asarray(ref["beats_s"])
            i = np.searchsorted(beats, cuts) - 1
            phase = (cuts - beats[i]) / (beats[i + 1] - beats[i])
            assert np.all((to_beat <= 2.6 * frame) | ((phase > 0.25 - 0.05) & (phase < 0.75 + 0.05)))
            on_beat += int(np.sum(to_beat <= 2.6 * frame))
            n_cuts += len(cuts)
        if style == "ramped":
            assert record["ramp"] > 0 and all(abs(s.get("ramp", 0)) > 0 for s in record["shots"])
        else:
            assert not any("ramp" in s for s in record["shots"])
    assert on_beat >= n_cuts / 2


def test_hit_cuts_follow_the_audio_not_the_grid(tiny: Path) -> None:
    import soundfile as sf

    (record,) = [r for r in _truths(tiny).values() if r["style"] == "hits"]
    cuts, ref = _track_times(tiny, record)
    y, sr = sf.read(str(tiny / "midi" / "items" / Path(record["track"]).name), dtype="float32")
    onsets, _ = hit_times(y, sr_hz=sr)
    assert distance_to_beats(cuts, onsets).max() <= 0.05  # each cut on a detected hit (frame rounding)
    assert distance_to_beats(cuts, np.asarray(ref["beats_s"])).max() > 0.06  # not all on the beat grid


def test_rebuild_resumes_and_the_plan_is_seeded(tiny: Path, media_root: Path) -> None:
    again = _build(tiny, media_root)
    assert again.rendered == [] and len(again.skipped) == 5
    with pytest.raises(ConfigError, match="other settings"):
        _build(tiny, media_root, GtConfig(**{**TINY.__dict__, "seed": 1}))
    track = GalleryItem("midi/a.flac", Path("a.flac"), 120.0, TrackReference((0.5, 1.0), (0.5,), "midi"), "piece:a")
    bars = GalleryItem("b/b.ogg", Path("b.ogg"), 100.0, TrackReference((0.5, 1.0), (), "madmom"), "recording:b")
    config = GtConfig(**{**TINY.__dict__, "queries": {"test": 20}})
    one, two = (plan_styled([track, bars], split="test", config=config) for _ in range(2))
    assert one == two
    other = plan_styled([track, bars], split="test", config=GtConfig(**{**config.__dict__, "seed": 3}))
    assert [q.spec.offset_s for q in other] != [q.spec.offset_s for q in one]
    assert all(q.style not in ("downbeats", "phrases") for q in one if q.spec.track == "b/b.ogg")


def test_every_training_set_named_is_kept_apart(tmp_path: Path) -> None:
    """The tracker's weights were fine-tuned on several sets: a piece (by id or by title) of any of them is reserved."""
    for name, piece, title in (("set-a", "freedoom/d_e1m1", "Hangar"), ("set-b", "music21/x", "The Mason's Apron")):
        write_json(tmp_path / name / "build.json", {"items": ["item0"]})
        write_json(item_json(tmp_path / name, "item0"), {"source": {"piece_id": piece, "title": title}})
    ref = TrackReference((), (), "midi")
    items = [GalleryItem("midi/a.flac", Path("a.flac"), 60.0, ref, "piece:freedoom/d_e1m1"),
             GalleryItem("midi/b.flac", Path("b.flac"), 60.0, ref, "piece:music21/other", title="the masons apron"),
             GalleryItem("midi/c.flac", Path("c.flac"), 60.0, ref, "piece:music21/y", title="Other Tune")]
    both = reserved_groups(items, trainset_roots=[tmp_path / "set-a", tmp_path / "set-b"], beatcut_root=None)
    assert both == {"piece:freedoom/d_e1m1", "piece:music21/other"}
    assert reserved_groups(items, trainset_roots=[tmp_path / "set-a"], beatcut_root=None) == {"piece:freedoom/d_e1m1"}
    assert reserved_groups(items, trainset_roots=[tmp_path / "missing"], beatcut_root=None) == set()


def test_a_named_training_set_that_is_missing_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gt_main([str(tmp_path / "out"), "--trainset", str(tmp_path / "nope"), "--quiet"]) == 1
    assert "nope: not a beat tracker training set" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_reserved_pieces_only_in_train() -> None:
    items = [GalleryItem(f"midi/{i}.flac", Path(f"{i}.flac"), 60.0, TrackReference((), (), "midi"), f"piece:{i % 30}")
             for i in range(60)]
    reserved = {f"piece:{i}" for i in range(10)}
    splits = assign_splits(items, {"train": 0.25, "valid": 0.25, "test": 0.5}, seed=0, reserved=reserved)
    groups = {s: {i.group for i in part} for s, part in splits.items()}
    assert reserved <= groups["train"] and not reserved & (groups["valid"] | groups["test"])
    assert not groups["valid"] & groups["test"] and len(groups["valid"]) + len(groups["test"]) == 20
    assert abs(len(groups["test"]) - 2 * len(groups["valid"])) <= 2  # valid : test as 0.25 : 0.5


def test_the_beat_training_set_keeps_apart_from_its_valid_and_test_pieces(tiny: Path, tmp_path: Path) -> None:
    """``bgmatch train beats build --keep-apart BEATCUT``: the pieces of its held-out splits are in
    the tracker's training pool until kept apart, then never."""
    held, _ = excluded(tiny)
    tracks = json.loads((tiny / "build.json").read_text())["splits"]["test"]["tracks"]
    assert len(held) == len(tracks) == 1
    no_bench = tmp_path / "bench"
    no_bench.mkdir()
    (no_bench / "build.json").write_text('{"items": []}')
    pool = {p.piece_id for _, p in training_pieces(default_src_dir(), no_bench, seed=1)}
    kept = {p.piece_id for _, p in training_pieces(default_src_dir(), no_bench, seed=1, keep_apart=[tiny])}
    assert held <= pool
    assert not held & kept and kept < pool


def test_style_cuts_never_call_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edit, "analyze_music", _no_engine_analysis)
    rng = np.random.default_rng(0)
    sr = 22050
    t = np.arange(sr * 12) / sr
    y = (np.sin(2 * np.pi * 220 * t) * (np.mod(t, 0.5) < 0.05)).astype(np.float32)  # a click train
    ref = TrackReference(tuple(np.arange(0, 12, 0.5)), tuple(np.arange(0, 12, 2.0)), "midi")
    plan = StyleCuts("downbeats", ref).plan(y, sr_hz=sr, start_s=0.0, offset_s=1.0, duration_s=10.0,
                                           config=TINY.edit, rng=rng)
    assert plan.cut_times_s.size and np.all(np.abs((plan.cut_times_s + 1.0) / 2.0 - np.round((plan.cut_times_s + 1.0) / 2.0)) <= 0.05)
    with pytest.raises(ConfigError, match="bar lines"):
        StyleCuts("phrases", TrackReference((0.5, 1.0), (), "madmom"))


def test_eval_reports_each_style_and_the_offset_measure(tiny: Path, tmp_path: Path, capsys) -> None:
    assert eval_main([str(tiny), "--split", "test", "--methods", "random,sync:-bar", "--quiet",
                      "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "per editor style" in out and all(s in out for s in STYLES)
    doc = json.loads((tmp_path / "test.json").read_text())
    assert sorted(doc["styles"]) == sorted(STYLES)
    for name in ("random", "sync:-bar"):
        by_style = doc["methods"][name]["by_style"]
        assert set(by_style) == set(STYLES) and all(row["n_queries"] == 1 for row in by_style.values())
        assert doc["methods"][name]["summary"]["recall@1"] == 1.0  # a one-track gallery
        assert doc["methods"][name]["summary"]["true_ref_ms"] is not None


def test_a_piece_left_out_as_too_short_is_retried_under_a_lower_minimum() -> None:
    from bgmatch.training.beatcut.gt_gallery import _still_rejected

    short = "oneills1850/0759-0810.abc: only 35.2 s of music (need 40 s)"
    assert _still_rejected(short, 40.0) and not _still_rejected(short, 32.0)
    assert _still_rejected("x.mid: notes off the grid (on-grid fraction 0.50)", 1.0)
    assert not _still_rejected(None, 40.0)


def test_a_scene_whose_clips_are_too_short_shoots_from_another_source(media_root: Path) -> None:
    from bgmatch.training.beatcut.sources import ClipSource, PhotoSource

    clips = [ClipSource(media_root / "footage" / name) for name in ("cup.mp4", "box.mp4")]
    photo = PhotoSource(sorted((media_root / "photos").iterdir())[0])
    try:
        shooter = edit._Shooter([*clips, photo], TINY.edit, np.random.default_rng(0))
        shooter.scene = {c.name for c in clips}
        assert shooter._pick(25 * 30, 0.5, set()) is photo  # a 30-s shot fits neither clip
        assert shooter._pick(10, 0.5, set()) in clips  # a short one stays in the scene
    finally:
        for c in clips:
            c.close()
