"""lmdb store and faiss window index round trips."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.library.arrays import pack, unpack
from bgmatch.engine.errors import LibraryError
from bgmatch.engine.library.index import IndexConfig, WindowIndex
from bgmatch.engine.library.store import FeatureStore, PathRecord, TrackRecord, content_hash


def test_pack_round_trip_and_no_pickles():
    arrays = {"a": np.arange(5, dtype=np.float32), "b": np.eye(3, dtype=np.float16)}
    got, meta = unpack(pack(arrays, {"title": "Ünïcode", "n": 3}))
    assert meta == {"title": "Ünïcode", "n": 3}
    for k in arrays:
        np.testing.assert_array_equal(got[k], arrays[k])
        assert got[k].dtype == arrays[k].dtype
    import io
    buf = io.BytesIO()
    np.savez(buf, evil=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        unpack(buf.getvalue())


def test_store_round_trip_generation_and_reopen(tmp_path, music_files):
    store = FeatureStore(tmp_path / "s")
    assert store.generation == 0 and len(store) == 0
    h = content_hash(music_files[0])
    assert len(h) == 32 and h == content_hash(music_files[0]) != content_hash(music_files[1])
    rec = TrackRecord(h, {"title": "x"}, {"v": np.ones(3, np.float32)})
    store.put("/music/x.ogg", PathRecord(h, 10, 20), rec)
    store.put("/music/copy.ogg", PathRecord(h, 10, 21))  # same content under a second path
    assert store.generation == 1 and len(store) == 1
    store.update_meta(h, beat_shift_s=0.1)
    assert store.generation == 2
    store.close()
    again = FeatureStore(tmp_path / "s", readonly=True)
    assert again.get(h).meta == {"title": "x", "beat_shift_s": 0.1}
    assert again.track_ids() == [h]
    assert set(again.paths()) == {"/music/x.ogg", "/music/copy.ogg"}
    assert again.path_record("/music/copy.ogg") == PathRecord(h, 10, 21)
    with pytest.raises(LibraryError, match="no track"):
        again.get("0" * 32)


def test_store_refuses_newer_format(tmp_path):
    store = FeatureStore(tmp_path / "s")
    store.set_meta("format_version", 99)
    store.close()
    with pytest.raises(LibraryError, match="newer"):
        FeatureStore(tmp_path / "s")


@pytest.mark.parametrize("hnsw_above", [10_000, 100])
def test_index_search_save_load(tmp_path, hnsw_above):
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(500, 10)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = [f"t{i // 5}" for i in range(500)]
    idx = WindowIndex.build(vecs, ids, np.arange(500) % 5 * 4.0, generation=7, config=IndexConfig(hnsw_above=hnsw_above))
    scores, rows = idx.search(vecs[[3, 42]], 5)
    assert list(rows[:, 0]) == [3, 42] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    idx.save(tmp_path)
    loaded = WindowIndex.load(tmp_path)
    assert loaded.generation == 7 and loaded.track_ids == ids
    assert list(loaded.search(vecs[[42]], 1)[1][0]) == [42]
    assert [p.name for p in tmp_path.iterdir()] == ["index.npz"]


def test_index_load_rejects_inconsistent_files(tmp_path):
    assert WindowIndex.load(tmp_path) is None
    idx = WindowIndex.build(np.eye(4, dtype=np.float32), ["a", "b", "c", "d"], np.zeros(4), generation=1)
    idx.save(tmp_path)
    assert WindowIndex.load(tmp_path).track_ids == ["a", "b", "c", "d"]
    data = (tmp_path / "index.npz").read_bytes()
    (tmp_path / "index.npz").write_bytes(data[: len(data) // 2])  # truncated
    assert WindowIndex.load(tmp_path) is None
    (tmp_path / "index.npz").write_bytes(b"garbage")
    assert WindowIndex.load(tmp_path) is None


def test_recall_returns_distinct_tracks_of_the_nearest_windows():
    from bgmatch.engine.library.retrieval import recall

    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(300, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = [f"t{i % 100}" for i in range(300)]  # 100 tracks, 3 windows each
    idx = WindowIndex.build(vecs, ids, np.zeros(300), generation=1)
    query = vecs[17] + 0.05 * vecs[205]
    got = recall(idx, query / np.linalg.norm(query), n_tracks=100, want=5)
    sims = vecs @ (query / np.linalg.norm(query))
    best_per_track = {}
    for i in np.argsort(-sims):
        best_per_track.setdefault(ids[i], i)
    assert got == list(best_per_track)[:5] and got[0] == "t17"
    assert len(recall(idx, query, n_tracks=100, want=1000)) == 100
