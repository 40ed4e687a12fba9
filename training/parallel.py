"""Worker processes for the benchmark builders."""
from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

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
