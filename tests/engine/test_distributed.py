"""Indexing on a local two-worker Ray cluster gives exactly the single-machine library."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from bgmatch.engine.library.distributed import add_with_ray, shard_files
from bgmatch.engine.library import Library

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_cluster():
    """A Ray cluster on this machine with two worker CPUs, shut down after the module."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=128 * 2**20)
    yield
    ray.shutdown()


@pytest.fixture
def catalogue(tmp_path, demo_music):
    """Three real tracks, one of them again under another name, and a file that is not audio."""
    folder = tmp_path / "music"
    (folder / "sub").mkdir(parents=True)
    for f in demo_music[:2]:
        shutil.copy2(f, folder / f.name)
    shutil.copy2(demo_music[2], folder / "sub" / demo_music[2].name)
    shutil.copy2(demo_music[0], folder / "sub" / f"copy-of-{demo_music[0].name}")
    (folder / "broken.ogg").write_bytes(b"not audio at all")
    return folder


def _library_contents(lib: Library) -> tuple[dict, dict]:
    tracks = {rec.track_id: (rec.meta, rec.arrays) for rec in lib.store.tracks()}
    return tracks, lib.store.paths()


def test_ray_run_equals_single_machine_run(tmp_path, catalogue, local_cluster):
    with Library.open(tmp_path / "single") as single, Library.open(tmp_path / "ray") as spread:
        expected = single.add([catalogue])
        seen = []
        got = add_with_ray(spread, [catalogue], address="local", n_shards=2,
                           progress=lambda done, total, _: seen.append((done, total)))

        assert got.added == expected.added and len(got.added) == 3
        assert got.unchanged == expected.unchanged and len(got.unchanged) == 1
        assert got.failed == expected.failed and "broken.ogg" in got.failed[0][0]
        assert seen[-1] == (5, 5) and [d for d, _ in seen] == sorted(d for d, _ in seen)

        want_tracks, want_paths = _library_contents(single)
        have_tracks, have_paths = _library_contents(spread)
        assert have_paths == want_paths
        assert list(have_tracks) == list(want_tracks)
        for track_id, (meta, arrays) in want_tracks.items():
            have_meta, have_arrays = have_tracks[track_id]
            assert have_meta == meta
            assert set(have_arrays) == set(arrays)
            for name, array in arrays.items():
                assert have_arrays[name].dtype == array.dtype
                np.testing.assert_array_equal(have_arrays[name], array)

        a, b = single.index(), spread.index()
        assert a.track_ids == b.track_ids
        np.testing.assert_array_equal(a.starts_s, b.starts_s)
        np.testing.assert_array_equal(a.index.reconstruct_n(0, a.index.ntotal), b.index.reconstruct_n(0, b.index.ntotal))

        generation = spread.store.generation
        again = add_with_ray(spread, [catalogue], address="local")
        assert again.added == [] and len(again.unchanged) == 4 and spread.store.generation == generation


def test_cli_index_with_ray(tmp_path, catalogue, local_cluster, capsys):
    from bgmatch.cli.main import EXIT_PARTIAL, main

    code = main(["index", "-q", "--ray", "local", "--library", str(tmp_path / "lib"), str(catalogue)])
    out = capsys.readouterr()
    assert code == EXIT_PARTIAL
    assert "3 added, 1 unchanged, 1 failed; 3 tracks" in out.out and "broken.ogg" in out.err


def test_shards_are_balanced_by_size_and_cover_every_file(tmp_path):
    files = []
    for i, size in enumerate([900, 100, 500, 400, 300, 200, 100]):
        f = tmp_path / f"{i}.ogg"
        f.write_bytes(b"x" * size)
        files.append(f)
    shards = shard_files(files, 3)
    assert sorted(p for s in shards for p in s) == sorted(files)
    loads = [sum(p.stat().st_size for p in s) for s in shards]
    assert max(loads) - min(loads) <= 200
    assert shard_files(files, 3) == shards
    assert shard_files(files[:2], 8) == [[files[0]], [files[1]]]
    assert shard_files([], 4) == []
