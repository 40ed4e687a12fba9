"""Crash safety, disk-full, concurrent use and the writer lock, with real processes and real media."""
from __future__ import annotations

import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bgmatch.engine.errors import LibraryError
from bgmatch.engine.library import Library


@pytest.fixture(scope="module")
def music_dir(tmp_path_factory, demo_music) -> Path:
    d = tmp_path_factory.mktemp("music")
    for f in demo_music[:8]:
        shutil.copy(f, d / f.name)
    return d


def _index_cmd(lib: Path, music: Path) -> list[str]:
    return [sys.executable, "-m", "bgmatch.cli.main", "index", "-q", "--library", str(lib), str(music)]


def _state(lib_dir: Path) -> dict[str, dict[str, np.ndarray]]:
    with Library.open(lib_dir, create=False) as lib:
        assert lib.check() == []
        return {rec.track_id: rec.arrays for rec in lib.store.tracks()}


@pytest.fixture(scope="module")
def reference_state(tmp_path_factory, music_dir):
    lib = tmp_path_factory.mktemp("ref") / "lib"
    subprocess.run(_index_cmd(lib, music_dir), check=True, timeout=300)
    return _state(lib)


def test_sigkill_at_random_points_then_resume(tmp_path, music_dir, reference_state):
    lib = tmp_path / "lib"
    rng = random.Random(7)
    kills = 0
    for _ in range(8):
        proc = subprocess.Popen(_index_cmd(lib, music_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 4.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        if lib.exists() and (lib / "store.lmdb").exists():
            with Library.open(lib, create=False) as opened:
                assert opened.check() == []  # no partial records, index readable
                assert len(opened.tracks()) <= len(reference_state)
    assert kills >= 4
    subprocess.run(_index_cmd(lib, music_dir), check=True, timeout=300)
    final = _state(lib)
    assert final.keys() == reference_state.keys()
    for track_id, arrays in final.items():
        for name, value in arrays.items():
            np.testing.assert_array_equal(value, reference_state[track_id][name])


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_disk_full_fails_cleanly_and_leaves_the_library_readable(tmp_path, music_dir, reference_state):
    lib = tmp_path / "lib"
    first = sorted(music_dir.iterdir())[:2]
    subprocess.run(_index_cmd(lib, first[0]), check=True, timeout=300)
    before = _state(lib)
    size = (lib / "store.lmdb" / "data.mdb").stat().st_size
    done = subprocess.run(_index_cmd(lib, music_dir), capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_file_size(size + 64 * 1024))
    assert done.returncode == 1, done.stderr
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "cannot write to the feature store" in err[0] and "Traceback" not in done.stderr
    after = _state(lib)  # readable, consistent
    assert set(before) <= set(after) and len(after) < len(reference_state)
    subprocess.run(_index_cmd(lib, music_dir), check=True, timeout=300)  # space again: it completes
    assert _state(lib).keys() == reference_state.keys()


HOLD_LOCK = """
import sys, time
from bgmatch.engine.library import Library
with Library.open(sys.argv[1]) as lib, lib.writing():
    print("locked", flush=True)
    time.sleep(60)
"""


def test_second_writer_is_refused_while_readers_go_on(tmp_path, music_dir, footage_dir):
    lib_dir = tmp_path / "lib"
    with Library.open(lib_dir) as lib:
        lib.add(sorted(music_dir.iterdir())[:2])
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lib_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with Library.open(lib_dir) as lib:
            with pytest.raises(LibraryError, match=f"another process \\(pid {holder.pid}\\) is adding"):
                lib.add(sorted(music_dir.iterdir())[2:3])
            assert len(lib) == 2
            assert len(lib.suggest(footage_dir / "bikes.mp4", top=2)) == 2  # reading goes on
    finally:
        holder.kill()
        holder.wait()
    with Library.open(lib_dir) as lib:
        lib.add(sorted(music_dir.iterdir())[2:3])  # the lock died with its process
        assert len(lib) == 3


def test_indexing_and_suggesting_processes_share_a_library(tmp_path, music_dir, footage_dir, reference_state):
    lib = tmp_path / "lib"
    subprocess.run(_index_cmd(lib, sorted(music_dir.iterdir())[0]), check=True, timeout=300)
    indexer = subprocess.Popen(_index_cmd(lib, music_dir), stderr=subprocess.PIPE, text=True)
    results = 0
    with Library.open(lib, create=False) as reader:
        while indexer.poll() is None:
            out = reader.suggest(footage_dir / "bikes.mp4", top=3)
            assert out and all(np.isfinite(s.score) for s in out)
            results += 1
    assert indexer.returncode == 0, indexer.stderr.read()
    assert results >= 1
    assert _state(lib).keys() == reference_state.keys()
