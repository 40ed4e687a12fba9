"""The builders' worker pools: numba's cache is complete before two workers can race to write it."""
from __future__ import annotations

import subprocess
import sys

from bgmatch.training import parallel


def _square(x: int) -> int:
    return x * x


def test_a_pool_of_several_workers_warms_numbas_cache_in_the_parent_first(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(parallel, "warm_numba_cache", lambda: calls.append("warm"))
    with parallel.process_pool(2) as pool:
        assert calls == ["warm"]  # before any worker could import librosa
        assert list(pool.map(_square, [2, 3])) == [4, 9]
    with parallel.process_pool(1) as pool:  # one worker races with nobody
        assert list(pool.map(_square, [4])) == [16]
    assert calls == ["warm"]


def test_warming_imports_the_modules_that_compile_librosas_gufuncs():
    code = ("import sys; from bgmatch.training.parallel import NUMBA_MODULES, warm_numba_cache; "
            "warm_numba_cache(); print(all(m in sys.modules for m in NUMBA_MODULES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert "librosa.util.utils" in parallel.NUMBA_MODULES and "librosa.beat" in parallel.NUMBA_MODULES


def test_a_job_that_kills_its_worker_is_reported_and_the_batch_goes_on():
    import signal

    harmless, deadly = signal.SIGCHLD, signal.SIGKILL  # raising SIGCHLD does nothing; SIGKILL kills
    jobs = [harmless, harmless, deadly, harmless, harmless, harmless]
    out = list(parallel.run_jobs(signal.raise_signal, jobs, 2))
    assert sorted(j for j, _, _ in out) == sorted(jobs)  # every job once
    assert [(r, e) for j, r, e in out if j == deadly] == [(None, parallel.CRASHED)]
    assert all(r is None and e is None for j, r, e in out if j == harmless)


def test_no_job_starts_after_cancel():
    seen: list[int] = []
    out = parallel.run_jobs(_square, list(range(10)), 2, cancel=lambda: len(seen) >= 2)
    for job, result, error in out:
        seen.append(result)
    assert 2 <= len(seen) <= 4 and error is None  # the two running when it turned true may finish
