"""Timing, CPU time and child-process helpers shared by the benchmark cases."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from bgmatch.engine.errors import BgmatchError


class BenchError(BgmatchError):
    """A benchmark could not be run (missing media, a probe process failed)."""


@dataclass
class Span:
    """Wall and CPU seconds of a block (CPU time of this process, all threads)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (every thread)."""
    t = os.times()
    return t.user + t.system


@contextmanager
def measured() -> Iterator[Span]:
    """Measure the wall and CPU time of a ``with`` block into the yielded :class:`Span`."""
    span = Span()
    w, c = time.perf_counter(), cpu_seconds()
    try:
        yield span
    finally:
        span.wall_s, span.cpu_s = time.perf_counter() - w, cpu_seconds() - c


def run_probe(args: list[str], *, env: dict[str, str] | None = None, timeout_s: float = 600.0,
              cwd: Path | None = None) -> tuple[dict[str, Any], float]:
    """Run ``python ARGS`` in a fresh process whose last stdout line is JSON.

    Returns (that JSON, the wall seconds from spawn to exit). Raises :class:`BenchError` with
    the end of stderr when the process fails.
    """
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout_s,
                              env={**os.environ, **(env or {})}, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise BenchError(f"probe {' '.join(args)} ran past {timeout_s:.0f} s") from None
    wall = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise BenchError(f"probe {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    try:
        return json.loads(lines[-1]), wall
    except ValueError:
        raise BenchError(f"probe {' '.join(args)} printed no JSON: {lines[-1][:200]}") from None
