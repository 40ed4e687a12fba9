"""Soak: repeated suggest calls must not grow memory or leak open files (bounded in time)."""
from __future__ import annotations

import os
import time

from bgmatch.engine.library import Library

SOAK_S = float(os.environ.get("BGMATCH_SOAK_S", "45"))


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_repeated_suggest_holds_memory_and_handles(tmp_path, demo_music, footage_dir):
    with Library.open(tmp_path / "lib") as lib:
        lib.add(demo_music[:6])
        videos = [footage_dir / "bikes.mp4", footage_dir / "cup.mp4"]
        for v in videos * 3:  # warm up caches and allocator pools
            lib.suggest(v, top=3)
        rss0, fds0 = _rss_mb(), _open_files()
        calls, end = 0, time.monotonic() + SOAK_S
        samples = []
        while time.monotonic() < end:
            lib.suggest(videos[calls % 2], top=3)
            calls += 1
            samples.append(_rss_mb())
        assert calls >= 20
        growth = max(samples[len(samples) // 2:]) - rss0
        assert growth < 40, f"RSS grew {growth:.1f} MB over {calls} calls (from {rss0:.0f} MB)"
        assert _open_files() == fds0
