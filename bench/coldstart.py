"""Case `coldstart`: the first run of a command in a fresh install against a warm one.

A fresh install is simulated with empty bytecode and numba caches (``PYTHONPYCACHEPREFIX`` and
``NUMBA_CACHE_DIR`` pointing to new folders): every module is compiled again and librosa's
beat tracker is JIT-compiled again, as after ``pip install``. Each command is timed from spawn
to exit, cold then warm (the same command again with the caches it just filled). The app's
start-up is timed from spawn to its window's first paint, against a bare Qt window.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bgmatch.assets import asset_path

from .context import Context
from .fixtures import music_files
from .measure import run_probe
from .memory import PROBE, _isolated_env, app_available
from .report import Row
from .suggest import bench_library

NAME = "coldstart"


def _timed_cli(args: list[str], env: dict[str, str]) -> float:
    """Seconds from spawn to exit of ``bgmatch ARGS`` (via ``python -m bgmatch.cli.main``)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bgmatch.cli.main", *args], check=True, env={**os.environ, **env},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    return time.perf_counter() - start


def _cold_and_warm(args_for_run, tmp: Path) -> tuple[float, float]:
    env = {**_isolated_env(tmp), "PYTHONPYCACHEPREFIX": str(tmp / "pycache"), "NUMBA_CACHE_DIR": str(tmp / "numba")}
    cold = _timed_cli(args_for_run(0), env)
    warm = _timed_cli(args_for_run(1), env)
    return cold, warm


def _first_paint_s(args: list[str], env: dict[str, str]) -> float:
    start = time.time()
    out, _ = run_probe([*PROBE, *args], env=env)
    return out["first_paint_unix"] - start


def run(ctx: Context) -> list[Row]:
    """Cold against warm `bgmatch suggest` and `bgmatch index`; app start-up against bare Qt."""
    library = bench_library(ctx, 50)
    video = str(asset_path("demo", "video.mp4"))
    track = str(music_files(ctx.media)[0])
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp_name:
        tmp = Path(tmp_name)
        cold, warm = _cold_and_warm(lambda i: ["suggest", "--library", str(library), video, "--top", "5"], tmp / "s")
        rows.append(Row(case=NAME, what="first `bgmatch suggest` (demo video, 50 tracks)", ours=cold, reference=warm,
                        unit="s", ours_label="fresh caches", reference_label="warm",
                        note="ratio = warm / cold"))
        cold, warm = _cold_and_warm(lambda i: ["index", "-q", "--library", str(tmp / f"lib{i}"), track], tmp / "i")
        rows.append(Row(case=NAME, what="first `bgmatch index` (one track)", ours=cold, reference=warm,
                        unit="s", ours_label="fresh caches", reference_label="warm",
                        note="cold includes librosa's numba compile; ratio = warm / cold"))
        if app_available():
            env = _isolated_env(tmp / "app")
            ours = min(_first_paint_s(["app", str(library)], env) for _ in range(1 if ctx.quick else 2))
            ref = min(_first_paint_s(["qt"], env) for _ in range(1 if ctx.quick else 2))
            rows.append(Row(case=NAME, what="app start-up to first paint", ours=ours, reference=ref, unit="s",
                            ours_label="bgmatch app", reference_label="bare Qt window", note="offscreen"))
        shutil.rmtree(tmp, ignore_errors=True)
    return rows
