"""Worker processes for the benchmark builders."""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` fresh (spawned) processes.

    Not forked: the analysis runs torch (BeatNet's downbeats), and a child forked from a process
    whose torch already started its threads can die at its first torch call (seen as a
    ``BrokenProcessPool`` when the BeatCut build ran after other tests in one pytest process).
    """
    return ProcessPoolExecutor(max_workers=max(1, workers), mp_context=multiprocessing.get_context("spawn"))
