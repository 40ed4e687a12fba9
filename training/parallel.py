"""Worker processes for the benchmark builders."""
from __future__ import annotations

import importlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")

#: What a job whose worker process died is reported with.
CRASHED = "its worker process died (a crash in a native library); the rest of the batch went on"

#: Modules whose numba functions have explicit signatures and ``cache=True``, so importing one
#: compiles them (or loads numba's cache): librosa's peak pickers and its beat tracker.
NUMBA_MODULES = ("librosa.util.utils", "librosa.beat")


def warm_numba_cache(modules: tuple[str, ...] = NUMBA_MODULES) -> None:
    """Import ``modules`` here, so that numba's cache of their functions is complete before any
    worker imports them.

    Two processes compiling one librosa gufunc at the same time write a corrupt cache entry
    (numba issues #4807 and #10128), and every process that loads it afterwards dies of a
    segmentation fault (seen here: two BeatCut workers on a fresh install, then every build).
    Compiling once, first, leaves the workers only reading it. Costs about 15 s on a fresh
    install, then about 4 s (the imports themselves).
    """
    for name in modules:
        importlib.import_module(name)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` fresh (spawned) processes, numba's cache warmed first (:func:`warm_numba_cache`).

    Not forked: the analysis runs torch (BeatNet's downbeats), and a child forked from a process
    whose torch already started its threads can die at its first torch call (seen as a
    ``BrokenProcessPool`` when the BeatCut build ran after other tests in one pytest process).
    """
    if workers > 1:
        warm_numba_cache()
    return ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn"))


def run_jobs(fn: Callable[[J], R], jobs: Sequence[J], workers: int, *,
             cancel: Callable[[], bool] | None = None) -> Iterator[tuple[J, R | None, str | None]]:
    """Yield ``(job, fn(job), None)`` for each job as it finishes, computed in ``workers`` processes,
    or ``(job, None, CRASHED)`` for a job whose process died; after ``cancel()`` turns true no
    further job starts.

    A worker that dies (a segmentation fault in a codec or in numba code) breaks the whole pool, so
    at most ``workers`` jobs run at a time: when the pool breaks, each of those runs again alone in
    a pool of its own, which tells the job that kills its process from its innocent neighbours,
    and the rest go on in a new pool. ``fn`` and the jobs must pickle (module-level functions).
    """
    queue = list(reversed(jobs))
    stopped = lambda: cancel is not None and cancel()  # noqa: E731
    while queue and not stopped():
        running: dict[Future, J] = {}
        try:
            with process_pool(workers) as pool:
                while True:
                    while queue and len(running) < max(1, workers) and not stopped():
                        job = queue.pop()
                        running[pool.submit(fn, job)] = job
                    if not running:
                        return
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        result = future.result()  # raises BrokenProcessPool when a worker died
                        yield running.pop(future), result, None
        except BrokenProcessPool:
            for job in running.values():
                yield (job, *_run_alone(fn, job))


def _run_alone(fn: Callable[[J], R], job: J) -> tuple[R | None, str | None]:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(fn, job).result(), None
        except BrokenProcessPool:
            return None, CRASHED
