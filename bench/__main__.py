"""`bgmatch bench` / `python -m bench`: run benchmark cases and print their table.

Cases: suggest, whole, indexing, ann, encoders, memory, coldstart (all by default). ``--quick`` shrinks every
case to a CI-sized run. Inputs are made once from the real media and cached.
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path

from .context import Context, default_cache_dir, default_media_dir
from .measure import BenchError
from .report import Row, save_json, table

#: Case name → its module in this package (imported only when run: some need PyAV or Qt).
CASES = {name: name for name in ("suggest", "whole", "indexing", "ann", "encoders", "memory", "coldstart")}


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the benchmark runner."""
    p = argparse.ArgumentParser(prog="bgmatch bench", description=__doc__.splitlines()[0].split(": ", 1)[1])
    p.add_argument("cases", nargs="*", metavar="CASE",
                   help=f"cases to run (default: all): {', '.join(CASES)}")
    p.add_argument("--quick", action="store_true", help="CI-sized inputs (minutes, not an hour)")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help=f"where inputs are made and kept (default: {default_cache_dir()})")
    p.add_argument("--media", type=Path, default=None, metavar="DIR",
                   help=f"the real media (default: $BGMATCH_MEDIA or {default_media_dir()})")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--ann-tracks", default=None, metavar="N,N,…",
                   help="library sizes of the ann case (default: 10000,100000,1000000; 10000 with --quick)")
    p.add_argument("--ann-kinds", default=None, metavar="KIND,…",
                   help="index kinds of the ann case (default: ivf,ivf-fp16,ivfpq,hnsw)")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the rows as JSON")
    p.add_argument("--profile", type=Path, default=None, metavar="DIR",
                   help="profile each case with pyinstrument and write CASE.txt into DIR")
    return p


def _context(args: argparse.Namespace) -> Context:
    ctx = Context(quick=args.quick, device=args.device)
    if args.cache is not None:
        ctx.cache = args.cache
        ctx.cache.mkdir(parents=True, exist_ok=True)
    if args.media is not None:
        ctx.media = args.media
    return ctx


def _run_case(name: str, ctx: Context, args: argparse.Namespace) -> list[Row]:
    kwargs = {}
    if name == "ann" and args.ann_tracks:
        kwargs["sizes"] = tuple(int(n) for n in args.ann_tracks.split(","))
    if name == "ann" and args.ann_kinds:
        kwargs["kinds"] = tuple(k.strip() for k in args.ann_kinds.split(","))
    case = importlib.import_module(f"{__package__}.{CASES[name]}")
    if args.profile is None:
        return case.run(ctx, **kwargs)
    from pyinstrument import Profiler

    args.profile.mkdir(parents=True, exist_ok=True)
    with Profiler() as profiler:
        rows = case.run(ctx, **kwargs)
    (args.profile / f"{name}.txt").write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the chosen cases; print the table; 0 when every case ran, 1 otherwise."""
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}; choose from {', '.join(CASES)}")
    if args.device is not None:
        from bgmatch.engine.learned.device import ENV_VAR, pick_device

        os.environ[ENV_VAR] = str(pick_device(args.device))  # probes and child processes follow it
    ctx = _context(args)
    rows: list[Row] = []
    failed = []
    started = time.perf_counter()
    for name in args.cases or list(CASES):
        ctx.log(f"== {name}")
        try:
            rows += _run_case(name, ctx, args)
        except BenchError as exc:
            failed.append(name)
            print(f"error: {name}: {exc}", file=sys.stderr)
    print(table(rows, markdown=args.markdown))
    context = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
               "quick": args.quick, "seconds": round(time.perf_counter() - started, 1),
               "command": " ".join(["bgmatch bench", *(argv if argv is not None else sys.argv[1:])])}
    if args.json is not None:
        save_json(rows, args.json, context=context)
    print(f"\n{len(rows)} rows in {context['seconds']:.0f} s on {context['cpus']} CPUs ({context['machine']})"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
