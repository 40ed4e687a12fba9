"""Case `memory`: peak RSS of a process holding a 10,000-track library.

The library is synthesised from the real tracks' stored analyses: each record is copied under a
new id with its window vectors perturbed (so the index holds distinct vectors), which gives
10,000 tracks of real lengths in seconds rather than hours of analysis. Two processes are
measured, each against the same process on the library of the real tracks alone:

- engine: open the library, load its index, suggest for the demo video (``bench.probe engine``);
- app: the desktop app, offscreen, on that library, after suggesting for the demo video
  (``bench.probe app``), when ``bgmatch.app`` is installed.
"""
from __future__ import annotations

import hashlib
import importlib.util
import tempfile
from pathlib import Path

import numpy as np

from bgmatch.assets import asset_path
from bgmatch.engine.library import Library
from bgmatch.engine.library.store import PathRecord, TrackRecord

from .context import Context
from .indexing import real_library
from .measure import run_probe
from .report import Row

NAME = "memory"
#: How a probe process is started: this package's ``probe`` module, whatever the package is called.
PROBE = ["-m", f"{__package__}.probe"]
TARGET_APP_BYTES = 1.5 * 2**30


def synthetic_library(folder: Path, source: Path, n_tracks: int, *, seed: int = 0) -> Path:
    """A library of ``n_tracks`` made from the tracks of ``source`` (resumes where it stopped)."""
    with Library.open(source, create=False) as src:
        records = list(src.store.tracks())
    with Library.open(folder) as lib:
        for i in range(len(lib), n_tracks):
            rec = records[i % len(records)]
            track_id = hashlib.blake2b(f"bench-synthetic-{seed}-{i}".encode(), digest_size=16).hexdigest()
            vectors = rec.arrays["window_vectors"]
            vectors = vectors + 0.05 * np.random.default_rng([seed, i]).standard_normal(vectors.shape).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            meta = {**rec.meta, "title": f"{rec.meta['title']} #{i}"}
            lib.store.put(f"{rec.meta['path']}#synthetic-{i}", PathRecord(track_id, 0, 0),
                          TrackRecord(track_id, meta, {**rec.arrays, "window_vectors": vectors}))
        lib.index()
    return folder


def _isolated_env(tmp: Path) -> dict[str, str]:
    """Settings and caches of probe processes go to ``tmp``, never the user's."""
    return {"XDG_CONFIG_HOME": str(tmp / "config"), "XDG_DATA_HOME": str(tmp / "data"),
            "XDG_CACHE_HOME": str(tmp / "cache"), "QT_QPA_PLATFORM": "offscreen"}


def _split(probe: dict) -> str:
    """The end-of-run split of a probe's resident memory, for a row's note."""
    if "anon" not in probe:
        return ""
    return f"at the end {probe['anon'] / 2**20:.0f} MiB private + {probe['file'] / 2**20:.0f} MiB file pages (lmdb, libraries)"


def app_available() -> bool:
    """Whether the desktop app (and Qt) can be imported here."""
    return all(importlib.util.find_spec(m) is not None for m in ("PySide6", "bgmatch.app.main"))


def run(ctx: Context) -> list[Row]:
    """Peak RSS with the big library against the real-tracks library, engine and app."""
    n_tracks = 1000 if ctx.quick else 10_000
    small = real_library(ctx)
    ctx.log(f"memory: synthesising a {n_tracks:,}-track library (once) …")
    big = synthetic_library(ctx.cache / f"library-synth-{n_tracks}", small, n_tracks)
    video = asset_path("demo", "video.mp4")
    with Library.open(small, create=False) as lib:
        n_small = len(lib)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp:
        env = _isolated_env(Path(tmp))
        ours, _ = run_probe([*PROBE, "engine", str(big), str(video)], env=env)
        ref, _ = run_probe([*PROBE, "engine", str(small), str(video)], env=env)
        rows.append(Row(case=NAME, what=f"peak RSS, engine process, {n_tracks:,} tracks", ours=ours["peak_rss"],
                        reference=ref["peak_rss"], unit="B", ours_label=f"{n_tracks:,} tracks",
                        reference_label=f"{n_small} tracks",
                        note=f"open + index + suggest (demo video); {_split(ours)}", extra=ours))
        if app_available():
            ours, _ = run_probe([*PROBE, "app", str(big), str(video)], env=env)
            ref, _ = run_probe([*PROBE, "app", str(small), str(video)], env=env)
            big_lib = n_tracks >= 10_000
            rows.append(Row(case=NAME, what=f"peak RSS, app process, {n_tracks:,} tracks", ours=ours["peak_rss"],
                            reference=ref["peak_rss"], unit="B", ours_label=f"{n_tracks:,} tracks",
                            reference_label=f"{n_small} tracks", target="<1.5 GB" if big_lib else "",
                            met=ours["peak_rss"] < TARGET_APP_BYTES if big_lib else None,
                            note=f"offscreen; library listed, demo video suggested; {_split(ours)}"
                                 + ("" if ours.get("settled") else "; memory had not settled at the time limit"),
                            extra=ours))
        else:
            rows.append(Row(case=NAME, what="peak RSS, app process", ours=float("nan"), reference=float("nan"),
                            unit="B", ours_label="", reference_label="", note="bgmatch.app not importable: skipped"))
    return rows
