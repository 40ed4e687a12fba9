"""The ANN case on a small library: synthetic windows, knob tuning, rows through `main`."""
from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from bgmatch.bench import ann
from bgmatch.bench.__main__ import main
from bgmatch.engine.library.index import IndexConfig, build_faiss_index, recall_at_k


@pytest.fixture(autouse=True)
def _one_faiss_thread():
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


def test_synthetic_windows_are_unit_rows_with_close_windows_per_track():
    vectors, queries = ann.synthetic_windows(500, n_queries=20, seed=1)
    assert vectors.shape == (2000, ann.DIM) and queries.shape == (20, ann.DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    same_track = sims[0, 1:ann.WINDOWS_PER_TRACK].mean()
    assert same_track > np.sort(sims[0, ann.WINDOWS_PER_TRACK:])[-20:].mean() > 0  # own windows first


def test_tune_finds_the_smallest_sufficient_knob():
    vectors, queries = ann.synthetic_windows(2000, n_queries=100, seed=2)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :ann.K]
    index, _ = build_faiss_index(vectors, IndexConfig(kind="ivf", ivf_nlist=64))
    value = ann.tune(index, "ivf", queries, truth)
    assert 1 < value < 64 and index.nprobe == value
    assert recall_at_k(index.search(queries, ann.K)[1], truth, ann.K) >= ann.TARGET_RECALL
    index.nprobe = value // 2
    assert recall_at_k(index.search(queries, ann.K)[1], truth, ann.K) < ann.TARGET_RECALL
    assert ann.tune(build_faiss_index(vectors, IndexConfig(kind="flat"))[0], "flat", queries, truth) is None


def test_main_runs_the_ann_case_and_writes_json(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert main(["ann", "--quick", "--ann-tracks", "2000", "--cache", str(tmp_path / "cache"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2,000 tracks ×4 windows, ivf" in printed and "hnsw" in printed
    rows = json.loads(out.read_text())["rows"]
    assert [r["what"].split(", ")[1].split(" ")[0] for r in rows] == ["ivf", "hnsw"]  # --quick skips fp16 and PQ
    for r in rows:
        assert r["extra"]["recall_at_10"] >= 0.9 and r["ratio"] > 1.0 and r["unit"] == "s"


def test_main_refuses_unknown_cases():
    with pytest.raises(SystemExit) as exc:
        main(["nonsense"])
    assert exc.value.code == 2
