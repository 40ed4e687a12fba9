"""``bgmatch eval``: metrics on hand-made cases, the harness with plug-in methods, and quality on a real split."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from bgmatch.cli.main import main as cli_main
from bgmatch.engine.errors import ConfigError
from bgmatch.training.beatcut.layout import BenchLayout
from bgmatch.training.eval_methods import (
    MethodContext,
    RandomScorer,
    best_alignment,
    folded_distance,
    folded_period,
    load_method,
)
from bgmatch.training.eval_metrics import distance_to_beats, rank_of, recall_at, recall_curve, summarize, sync_error_s
from bgmatch.training.eval_plot import plot_recall
from bgmatch.training.evaluate import evaluate, open_split_library

SMALL_ARGS = ["--queries", "train=2,valid=2,test=40", "--fractions", "train=0.2,valid=0.15,test=0.65",
              "--duration", "15", "15", "--max-end", "60", "--size", "160x90", "--workers", "2", "--quiet"]


# -- metrics on hand-made cases ----------------------------------------------------------------
def test_rank_counts_distinct_tracks_and_misses_as_gallery_size() -> None:
    assert rank_of(["a", "b", "c"], "a", gallery_size=3) == 1
    assert rank_of(["b", "b", "a"], "a", gallery_size=3) == 2  # a repeated track counts once
    assert rank_of(["b", "c"], "a", gallery_size=5) == 5
    ranks = [1, 2, 6, 11, 1]
    assert recall_at(ranks, 1) == 0.4 and recall_at(ranks, 5) == 0.6 and recall_at(ranks, 10) == 0.8
    assert recall_curve(ranks, max_k=3).tolist() == [0.4, 0.6, 0.6]


def test_sync_error_is_the_median_cut_distance_and_fair_to_repeats() -> None:
    beats = np.arange(0.0, 60.0, 0.5)
    assert distance_to_beats(np.array([0.1, 0.3, 0.74, 100.0]), beats) == pytest.approx([0.1, 0.2, 0.24, 40.5])
    cuts = [1.0, 2.02, 3.5, 4.9, 6.25]
    # At offset 10.0 the distances are 0, 0.02, 0, 0.1, 0.25: the median is 0.02 s.
    assert sync_error_s(cuts, beats, offset_s=10.0) == pytest.approx(0.02)
    # Music that repeats every 0.5 s: any whole number of beats later is just as good.
    assert sync_error_s(cuts, beats, offset_s=31.5) == pytest.approx(0.02)
    assert sync_error_s(cuts, beats, offset_s=10.25) == pytest.approx(0.23)
    assert np.isnan(sync_error_s([], beats, offset_s=0.0))


def test_summary_offset_error_only_over_correct_top1_and_aggregates_by_median() -> None:
    row = summarize([1, 1, 3, 1], [0.01, 0.03, 0.2, float("nan")], [0.5, 2.0, None, 0.0], seconds=2.0)
    assert row["recall@1"] == 0.75 and row["recall@5"] == 1.0 and row["median_rank"] == 1.0
    assert row["sync_error_ms"] == pytest.approx(30.0)  # median of 10, 30, 200 ms (no cuts: left out)
    assert row["sync_error_mean_ms"] == pytest.approx(80.0)
    assert row["offset_error_s"] == pytest.approx(0.5) and row["offset_error_n"] == 3
    assert row["offset_error_mean_s"] == pytest.approx(2.5 / 3)
    assert row["queries_per_s"] == 2.0


def test_alignment_and_tempo_helpers_on_a_synthetic_beat_grid() -> None:
    beats = np.arange(0.3, 120.0, 0.6)  # 100 BPM
    cuts = np.array([0.6, 1.8, 4.2, 6.6, 7.2, 9.0])  # every 1-4 beats from the video start
    offset, score = best_alignment(cuts, beats, max_offset_s=100.0)
    assert score == pytest.approx(1.0)
    assert (offset - 0.3) % 0.6 == pytest.approx(0.0, abs=1e-9) or (offset - 0.3) % 0.6 == pytest.approx(0.6)
    _, worse = best_alignment(cuts + np.array([0, 0, 0.05, 0, 0.3, 0]), beats, max_offset_s=100.0)
    assert 0.6 < worse < 0.95
    # Intervals of 1, 2 and 4 beats fold onto one period; a 3-beat interval does not dominate.
    assert folded_period([0.6, 1.2, 2.4, 1.2, 1.8]) == pytest.approx(np.log2(0.6) % 1, abs=0.02)
    assert folded_period([]) is None
    assert folded_distance(0.95, 0.05) == pytest.approx(0.1)


def test_load_method_by_name_or_module() -> None:
    assert load_method("random") is RandomScorer
    assert load_method("bgmatch.training.eval_methods:RandomScorer") is RandomScorer
    with pytest.raises(ConfigError, match="unknown method"):
        load_method("oracle")
    with pytest.raises(ConfigError, match="cannot load"):
        load_method("bgmatch.training.eval_methods:Nope")


# -- the harness on the small real split ---------------------------------------------------------
@pytest.fixture(scope="module")
def small_bench(tmp_path_factory, media_root) -> Path:
    out = tmp_path_factory.getbasetemp() / "beatcut-small"  # shared with test_beatcut_build.py
    assert cli_main(["eval", "build", str(out), "--media-root", str(media_root), *SMALL_ARGS]) == 0
    return out


@pytest.fixture(scope="module")
def eval_results(small_bench: Path, tmp_path_factory) -> dict:
    """``bgmatch eval`` on the small split's test queries, with every built-in method."""
    out = tmp_path_factory.mktemp("eval")
    assert cli_main(["eval", str(small_bench), "--split", "test", "--out", str(out), "--quiet"]) == 0
    return {"json": json.loads((out / "test.json").read_text()), "csv": out / "test.csv", "out": out}


def test_analysis_only_score_beats_random_by_a_wide_margin(eval_results: dict) -> None:
    doc = eval_results["json"]
    assert doc["n_queries"] == 40 and doc["gallery_size"] >= 25
    m = {name: v["summary"] for name, v in doc["methods"].items()}
    assert list(m) == ["random", "tempo", "cut-on-beat", "sync"]
    assert m["sync"]["recall@1"] >= m["random"]["recall@1"] + 0.2
    assert m["sync"]["recall@5"] >= m["random"]["recall@5"] + 0.25
    assert m["sync"]["median_rank"] <= m["random"]["median_rank"] / 2
    assert m["sync"]["sync_error_ms"] < 0.6 * m["random"]["sync_error_ms"]
    # The default edit is not easy: plain cut-to-beat matching is far from perfect.
    assert m["cut-on-beat"]["recall@1"] < 0.9
    with eval_results["csv"].open() as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == list(m)
    assert float(rows[-1]["recall@1"]) == pytest.approx(m["sync"]["recall@1"], abs=1e-3)


class Oracle:
    """A test-only cheat that knows the truth: checks the harness's metrics end to end."""

    name = "oracle"

    def __init__(self, ctx: MethodContext, truth) -> None:
        self.ctx, self.truth = ctx, truth
        self.others = [t.track_id for t in ctx.library.tracks()]

    def rank(self, video_path: Path) -> list[tuple[str, float]]:
        r = self.truth[Path(video_path).stem]
        return [(r.content_hash, r.offset_s)] + [(t, 0.0) for t in self.others if t != r.content_hash]


class Spy:
    """Records what the harness hands a method."""

    name = "spy"
    calls: list = []

    def __init__(self, ctx: MethodContext) -> None:
        self.ids = [t.track_id for t in ctx.library.tracks()]

    def rank(self, *args, **kwargs) -> list[tuple[str, float]]:
        Spy.calls.append((args, kwargs))
        return [(t, 0.0) for t in self.ids]


def test_harness_scores_any_method_and_hands_it_only_the_video(small_bench: Path, eval_results: dict) -> None:
    layout = BenchLayout(small_bench)
    truth = layout.truth("test")
    queries = layout.query_videos("test")[:6]
    with open_split_library(layout, "test", show_bar=False) as library:
        result = evaluate(library, queries, [lambda ctx: Oracle(ctx, truth), Spy], truth, show_bar=False)
        floor = [sync_error_s(truth[q.stem].cut_times_s, library.music_analysis(truth[q.stem].content_hash).beat_times_s,
                              offset_s=truth[q.stem].offset_s) for q in queries]
    oracle = result.methods["oracle"].summary
    assert oracle["recall@1"] == 1.0 and oracle["offset_error_s"] == 0.0 and oracle["offset_error_n"] == 6
    assert oracle["sync_error_ms"] == pytest.approx(1000 * np.median(floor))
    assert result.sync_error_floor_ms == pytest.approx(oracle["sync_error_ms"])
    assert Spy.calls == [((q,), {}) for q in queries]  # the video path, and nothing else


def test_harness_refuses_a_library_without_the_queries_tracks(small_bench: Path, tmp_path: Path) -> None:
    from bgmatch.engine.library import Library

    layout = BenchLayout(small_bench)
    gallery = layout.gallery("test")
    with Library.open(tmp_path / "lib") as library:
        library.add([gallery[0].path])
        with pytest.raises(ConfigError, match="lacks"):
            evaluate(library, layout.query_videos("test"), [RandomScorer], layout.truth("test"), show_bar=False)


def test_plot_draws_recall_at_k(eval_results: dict, tmp_path: Path) -> None:
    png = plot_recall([eval_results["out"] / "test.json"], tmp_path / "r.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


# -- trained models in the harness, and the fusion weight ----------------------------------------
def test_choose_weight_on_hand_made_samples() -> None:
    from bgmatch.engine.library.retrieval import Ranked
    from bgmatch.training.fusion_tuning import FusionSample, choose_weight

    ranked = [Ranked(t, s, 0.0, {}) for t, s in (("a", 3.0), ("b", 2.9), ("c", 2.0))]
    # The learned score knows "b" is right; sync alone ranks it 2nd.
    samples = [FusionSample(ranked, {"a": 0.0, "b": 1.0, "c": 0.5})] * 3
    tuning = choose_weight(samples, ["b"] * 3, weights=(0.0, 1.0), k=1)
    assert tuning.table == {0.0: (0.0, 0.5), 1.0: (1.0, 1.0)} and tuning.weight == 1.0
    assert choose_weight(samples, ["a"] * 3, weights=(0.0, 1.0), k=1).weight == 0.0
    with pytest.raises(ConfigError, match="no validation queries"):
        choose_weight([], [])


def test_model_methods_fuse_as_the_library_does_and_tune_the_weight(small_bench: Path, tiny_bundle_dir: Path,
                                                                     tmp_path: Path, capsys) -> None:
    import shutil

    from bgmatch.engine.learned.bundle import ModelBundle
    from bgmatch.engine.learned.bundle_format import set_fusion_weight

    bundle_dir = tmp_path / "model"
    shutil.copytree(tiny_bundle_dir, bundle_dir)
    version = ModelBundle.load(bundle_dir, device="cpu").version
    set_fusion_weight(bundle_dir, 0.0)
    assert ModelBundle.load(bundle_dir, device="cpu").version == version  # stored embeddings stay valid
    out = tmp_path / "eval"
    args = ["eval", str(small_bench), "--split", "test", "--limit", "4", "--methods", "sync", "--device", "cpu",
            "--model", f"tiny={bundle_dir}", "--out", str(out), "--quiet"]
    assert cli_main(args) == 0
    doc = json.loads((out / "test.json").read_text())["methods"]
    assert list(doc) == ["sync", "tiny", "tiny (learned only)"]
    assert doc["tiny"]["ranks"] == doc["sync"]["ranks"]  # weight 0: the fused ranking is the sync one
    assert cli_main([*args, "--tune-fusion"]) == 1
    assert "choose on valid" in capsys.readouterr().err
    valid = ["eval", str(small_bench), "--split", "valid", "--methods", "sync", "--device", "cpu",
             "--model", f"tiny={bundle_dir}", "--tune-fusion", "--out", str(out), "--quiet"]
    assert cli_main(valid) == 0
    printed = capsys.readouterr().out
    chosen = json.loads((bundle_dir / "bundle.json").read_text())["score"]["fusion_weight"]
    assert f"recorded fusion_weight = {chosen:g}" in printed and "← chosen" in printed


def test_sync_tune_reproduces_the_librarys_ranking_ablates_and_chooses_only_off_test(
        small_bench: Path, eval_results: dict, tmp_path: Path, capsys) -> None:
    out = tmp_path / "ablation.json"
    assert cli_main(["eval", "sync-tune", str(small_bench), "--split", "test", "--ablate", "--calibrate", "--json",
                     str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    cal = doc["fit_calibration"]  # the fit's logistic, fitted to the default setting's scores
    assert cal["n_right"] == 40 and cal["n_wrong"] > 40 and cal["slope"] > 0
    rows = {s["label"]: s for s in doc["settings"]}
    # the untouched setting ranks exactly as `bgmatch eval`'s sync method (Library.suggest) did
    assert rows["all parts"]["ranks"] == eval_results["json"]["methods"]["sync"]["ranks"]
    assert {"without beat", "without onset", "without energy", "beat alone"} <= set(rows)
    assert rows["beat alone"]["config"]["onset_weight"] == 0 and rows["beat alone"]["config"]["beat_weight"] == 1
    assert rows["all parts"]["summary"]["all"]["n"] == 40
    assert "without beat" in capsys.readouterr().out
    # a grid chooses a setting, so never on test
    assert cli_main(["eval", "sync-tune", str(small_bench), "--split", "test", "--grid", "hit_weight=0,1",
                     "--quiet"]) == 1
    assert "choose on valid" in capsys.readouterr().err
    grid = tmp_path / "grid.json"
    assert cli_main(["eval", "sync-tune", str(small_bench), "--split", "valid", "--grid", "hit_weight=0,1",
                     "--grid", "bar_weight=0,0.5", "--json", str(grid), "--quiet"]) == 0
    tuned = json.loads(grid.read_text())
    assert [s["label"] for s in tuned["settings"]] == ["hit_weight=0 bar_weight=0", "hit_weight=0 bar_weight=0.5",
                                                       "hit_weight=1 bar_weight=0", "hit_weight=1 bar_weight=0.5"]
    assert tuned["chosen"] in {s["label"] for s in tuned["settings"]}
    assert cli_main(["eval", "sync-tune", str(small_bench), "--grid", "no_such_weight=1", "--quiet"]) == 1


def test_beats_option_ranks_on_that_beat_source_in_its_own_library(small_bench: Path, tmp_path: Path) -> None:
    from bgmatch.engine.library import Library

    # librosa's beats are not the default (the neural tracker's are): they get their own library
    assert cli_main(["eval", str(small_bench), "--split", "valid", "--methods", "sync", "--beats", "librosa",
                     "--out", str(tmp_path), "--quiet"]) == 0
    folder = small_bench / "libraries" / "valid-librosa"
    settings = json.loads((folder / "library.json").read_text())["settings"]
    assert settings["rhythm"]["beats"] == "librosa"
    doc = json.loads((tmp_path / "valid.json").read_text())
    assert doc["library"] == str(folder) and list(doc["methods"]) == ["sync"]
    with Library.open(folder, create=False) as library:
        for track in library.tracks():
            music = library.music_analysis(track.track_id)
            assert len(music.beat_times_s) > 8 and np.isin(music.downbeat_times_s, music.beat_times_s).all()
    with pytest.raises(SystemExit):
        cli_main(["eval", str(small_bench), "--beats", "madmom"])
