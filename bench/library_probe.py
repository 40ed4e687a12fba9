"""Build a library or time one suggestion in it, with whichever bgmatch is importable.

Run as a script (``python bench/library_probe.py …``), not as part of the package, so the same
driver runs today's code and an older revision's (``PYTHONPATH`` set to the tree of
:func:`bench.reference.reference_tree`). It uses only the ``Library`` calls both have: open,
add, embed, index, analyze_video and suggest.

``build LIBRARY LISTFILE``   add the audio files listed in LISTFILE (one path a line), embed them
                             with the library's model (as ``bgmatch index`` does), build the index
``suggest LIBRARY VIDEO``    a freshly opened library analyses VIDEO and ranks every track

Each prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bgmatch.engine.library import Library


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def _progress(every: int):
    def report(done: int, total: int, message: str = "") -> None:
        if done % every == 0 or done == total:
            print(f"  {done}/{total} {message}", file=sys.stderr, flush=True)
    return report


def build(folder: Path, listfile: Path) -> dict:
    """Add, embed and index the listed files; what was done and how long it took."""
    files = [line for line in listfile.read_text().splitlines() if line.strip()]
    start, cpu = time.perf_counter(), _cpu_s()
    with Library.open(folder) as lib:
        if hasattr(lib, "set_tagging"):  # tags are not used by suggest; the older code has none
            lib.set_tagging(False)
        report = lib.add(files, progress=_progress(50))
        if lib.model is not None and lib.missing_embeddings():
            lib.embed()
        lib.index()
        n = len(lib)
    return {"tracks": n, "failed": [str(f) for f in report.failed][:5], "n_failed": len(report.failed),
            "wall_s": time.perf_counter() - start, "cpu_s": _cpu_s() - cpu}


def suggest(folder: Path, video: Path) -> dict:
    """Open the library, analyse the video, rank every track: the two spans and the top ten."""
    with Library.open(folder, create=False) as lib:
        n = len(lib)
        w, c = time.perf_counter(), _cpu_s()
        analysis = lib.analyze_video(video)
        w1, c1 = time.perf_counter(), _cpu_s()
        top = lib.suggest(analysis, top=10)
        w2, c2 = time.perf_counter(), _cpu_s()
    return {"tracks": n, "video_s": w1 - w, "video_cpu_s": c1 - c, "ranking_s": w2 - w1, "ranking_cpu_s": c2 - c1,
            "top": [Path(s.path).name for s in top]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build a library or time one suggestion in it.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("library", type=Path)
    b.add_argument("listfile", type=Path)
    s = sub.add_parser("suggest")
    s.add_argument("library", type=Path)
    s.add_argument("video", type=Path)
    args = p.parse_args(argv)
    out = build(args.library, args.listfile) if args.command == "build" else suggest(args.library, args.video)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
