"""Index kinds for large libraries: IVF, IVF-PQ, HNSW, float16 storage, tuning knobs, recall."""
from __future__ import annotations

import faiss
import numpy as np
import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.library.index import (IndexConfig, WindowIndex, build_faiss_index, index_bytes, ivf_nlist,
                                  recall_at_k, resolve_kind, set_search_params)
from bgmatch.engine.library.retrieval import recall


@pytest.fixture(autouse=True, scope="module")
def _one_faiss_thread():
    """One OpenMP thread: on a machine busy with other tests, faiss's spinning team is many times slower."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


def clustered(n: int, d: int = 32, *, seed: int = 0, latent: int = 8) -> np.ndarray:
    """Unit rows of low intrinsic dimension, like learned embeddings."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, latent)) @ rng.normal(size=(latent, d)) + 0.05 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(database [6000, 32], queries [100, 32], exact top-10 rows [100, 10])."""
    x = clustered(6100)
    base, queries = x[:6000], x[6000:]
    truth = np.argsort(-(queries @ base.T), axis=1)[:, :10]
    return base, queries, truth


@pytest.mark.parametrize(
    ("kind", "storage", "min_recall"),
    [("flat", "float32", 1.0), ("flat", "float16", 0.97), ("hnsw", "float32", 0.95), ("hnsw", "float16", 0.93),
     ("ivf", "float32", 0.95), ("ivf", "float16", 0.93), ("ivfpq", "float32", 0.5)],
)
def test_each_kind_finds_the_true_neighbours_and_survives_save_load(tmp_path, data, kind, storage, min_recall):
    base, queries, truth = data
    config = IndexConfig(kind=kind, storage=storage, ivf_nprobe=16, pq_m=8, pq_bits=6)
    idx = WindowIndex.build(base, [f"t{i // 4}" for i in range(len(base))], np.arange(len(base)) % 4 * 4.0,
                            generation=3, config=config)
    assert idx.info["kind"] == kind and idx.info["vectors"] == len(base) and not idx.info["gpu"]
    _, rows = idx.search(queries, 10)
    assert recall_at_k(rows, truth, 10) >= min_recall
    idx.save(tmp_path)
    loaded = WindowIndex.load(tmp_path)
    assert loaded.info == idx.info  # knobs (nprobe, efSearch) are saved with the index
    np.testing.assert_array_equal(loaded.search(queries, 10)[1], rows)


def test_float16_and_pq_bound_memory(data):
    base = data[0]
    sizes = {name: index_bytes(build_faiss_index(base, cfg)[0]) for name, cfg in {
        "flat": IndexConfig(kind="flat"), "flat16": IndexConfig(kind="flat", storage="float16"),
        "ivf16": IndexConfig(kind="ivf", storage="float16"), "ivfpq": IndexConfig(kind="ivfpq", pq_m=8, pq_bits=6)}.items()}
    raw = base.nbytes
    assert raw <= sizes["flat"] < 1.05 * raw
    assert sizes["flat16"] < 0.55 * raw and sizes["ivf16"] < 0.7 * raw
    assert sizes["ivfpq"] < 0.4 * raw  # 8 bytes of codes + 8 of id per vector, against 128


def test_ivf_knob_trades_speed_for_recall_up_to_exact(data):
    base, queries, truth = data
    index, info = build_faiss_index(base, IndexConfig(kind="ivf", ivf_nlist=64))
    assert info["nlist"] == 64
    recalls = []
    for nprobe in (1, 4, 64):
        set_search_params(index, nprobe=nprobe)
        recalls.append(recall_at_k(index.search(queries, 10)[1], truth, 10))
    assert recalls[0] < recalls[1] < recalls[2] == 1.0  # every cell searched: exact
    set_search_params(index, nprobe=10_000)
    assert index.nprobe == 64


def test_hnsw_knob_raises_recall(data):
    base, queries, truth = data
    index, info = build_faiss_index(base, IndexConfig(kind="hnsw", hnsw_m=8, hnsw_ef_search=1))
    assert info["ef_search"] == 1 and info["hnsw_m"] == 8
    low = recall_at_k(index.search(queries, 10)[1], truth, 10)
    set_search_params(index, ef_search=256)
    assert recall_at_k(index.search(queries, 10)[1], truth, 10) > max(low, 0.97)


def test_ivf_training_is_seeded(data):
    base, queries, _ = data
    a, _ = build_faiss_index(base, IndexConfig(kind="ivf", seed=5))
    b, _ = build_faiss_index(base, IndexConfig(kind="ivf", seed=5))
    np.testing.assert_array_equal(a.search(queries, 10)[1], b.search(queries, 10)[1])


def test_auto_kind_and_cell_count_rules():
    assert resolve_kind(199_999, IndexConfig(use_gpu=False)) == "flat"
    assert resolve_kind(200_000, IndexConfig(use_gpu=False)) == "hnsw"
    assert resolve_kind(10, IndexConfig(kind="ivf")) == "ivf"
    assert ivf_nlist(1_000_000, IndexConfig()) == 4000
    assert ivf_nlist(1000, IndexConfig()) == 25  # at least 39 training vectors per cell
    assert ivf_nlist(10, IndexConfig()) == 1
    assert ivf_nlist(1_000_000, IndexConfig(ivf_nlist=123)) == 123


def test_bad_configs_fail_clearly(data):
    base = data[0]
    with pytest.raises(ConfigError, match="divide"):
        build_faiss_index(base, IndexConfig(kind="ivfpq", pq_m=7))
    with pytest.raises(ConfigError, match="unknown index kind"):
        build_faiss_index(base, IndexConfig(kind="lsh"))
    with pytest.raises(ConfigError, match="storage"):
        build_faiss_index(base, IndexConfig(kind="flat", storage="int4"))


def test_empty_library_with_a_trained_kind_still_searches():
    idx = WindowIndex.build(np.zeros((0, 10), np.float32), [], np.zeros(0), generation=0, config=IndexConfig(kind="ivf"))
    scores, rows = idx.search(np.ones((2, 10), np.float32), 5)
    assert scores.shape == rows.shape == (2, 0)


def test_few_queries_search_on_one_thread_and_restore_the_team(data):
    base, queries, _ = data
    idx = WindowIndex.build(base, ["t"] * len(base), np.zeros(len(base)), generation=1, config=IndexConfig(kind="flat"))
    faiss.omp_set_num_threads(2)
    try:
        one = np.concatenate([idx.search(q[None], 10)[1] for q in queries])
        assert faiss.omp_get_max_threads() == 2
        np.testing.assert_array_equal(one, idx.search(queries, 10)[1])
    finally:
        faiss.omp_set_num_threads(1)


def test_recall_at_k_counts_shared_rows():
    found = np.array([[1, 2, 3], [7, 8, -1]])
    truth = np.array([[3, 2, 9], [7, 9, 8]])
    assert recall_at_k(found, truth, 3) == pytest.approx((2 + 2) / 6)
    assert recall_at_k(found[:, :1], truth[:, :1], 1) == pytest.approx(0.5)


def test_retrieval_recall_stage_works_over_ivf(data):
    base = data[0]
    ids = [f"t{i // 6}" for i in range(len(base))]  # 1000 tracks of 6 windows
    idx = WindowIndex.build(base, ids, np.zeros(len(base)), generation=1,
                            config=IndexConfig(kind="ivf", ivf_nprobe=64))
    got = recall(idx, base[600], n_tracks=1000, want=20)
    assert got[0] == "t100" and len(got) == len(set(got)) == 20
    idx.set_search_params(nprobe=1)
    assert idx.info["nprobe"] == 1


def test_saved_file_is_a_plain_npz_and_the_older_layout_still_loads(tmp_path, data):
    base = data[0][:500]
    ids = [f"t{i // 5}" for i in range(len(base))]
    idx = WindowIndex.build(base, ids, np.arange(len(base)) % 5 * 4.0, generation=9, config=IndexConfig(kind="ivf"))
    idx.save(tmp_path)
    with np.load(tmp_path / "index.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["faiss"], faiss.serialize_index(idx.index))
        assert len(z["track_table"]) == 100 and z["track_rows"].dtype == np.int32
    loaded = WindowIndex.load(tmp_path)
    assert loaded.track_ids == ids and loaded.generation == 9
    assert loaded.track_ids[0] is loaded.track_ids[4]  # one string per track, not per row
    old = tmp_path / "old"
    old.mkdir()
    np.savez(old / "index.npz", faiss=faiss.serialize_index(idx.index), track_ids=np.asarray(ids, dtype=np.str_),
             starts_s=idx.starts_s, generation=np.asarray(9, np.int64))
    again = WindowIndex.load(old)
    assert again.track_ids == ids and again.info == idx.info
