"""``bgmatch train``: run the training stages of a config from the command line.

    bgmatch train CONFIG [--device cpu|cuda|auto] [--out-dir DIR] [--stages prepare,match,…]
    bgmatch train STAGE CONFIG …        one stage: prepare, pretrain, match or eval
    bgmatch train beats build|fit|eval|agree …   the beat tracker (see bgmatch.training.beats.train)
    bgmatch train beatcut build [--edition tracker|gt] …   a BeatCut benchmark (see bgmatch.training.beatcut.gt_build)

Under ``torchrun --nproc_per_node N -m bgmatch.training.cli CONFIG`` it runs with DDP.
"""
from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from bgmatch.engine.errors import BgmatchError, ConfigError

from .config import STAGES, load_config
from .pipeline import train

EXIT_OK, EXIT_ERROR, EXIT_CANCELLED = 0, 1, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bgmatch train",
        description="Train bgmatch's models from a TOML config: prepare → pretrain → match → eval. "
                    "Interrupted runs resume where they stopped when run again.",
    )
    parser.add_argument("config", help="training config (TOML), e.g. training/configs/small.toml")
    parser.add_argument("--device", default=None, help="auto (CUDA when present), cpu, cuda or cuda:N")
    parser.add_argument("--out-dir", default=None, help="run folder (overrides run.out_dir)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, VALUE in TOML syntax: --set match.steps=100 "
                             "--set data.root='\"/data/beatcut\"' (repeatable)")
    parser.add_argument("--stages", default=",".join(STAGES),
                        help=f"comma-separated subset of {','.join(STAGES)} (default: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or per-step lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``bgmatch train``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "beats":
        from .beats.train import main as beats_main

        return beats_main(argv[1:])
    if argv[:2] == ["beatcut", "build"]:
        return _beatcut_build(argv[2:])
    stage = argv.pop(0) if argv and argv[0] in STAGES else None
    args = build_parser().parse_args(argv)
    stages = (stage,) if stage else tuple(s.strip() for s in args.stages.split(",") if s.strip())
    try:
        overrides = parse_overrides(args.overrides)
        if args.out_dir:
            overrides["run.out_dir"] = str(Path(args.out_dir).resolve())
        config = load_config(args.config, overrides=overrides)
        result = train(config, None if args.quiet else _print_progress, device=args.device, stages=stages,
                       show_bar=not args.quiet)
    except BgmatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_CANCELLED
    if result.bundle_dir is not None:
        print(f"model bundle: {result.bundle_dir}")
    for split, metrics in result.evaluation.items():
        print(f"{split}: " + json.dumps({k: round(v, 4) for k, v in metrics.items()}))
    return EXIT_CANCELLED if result.cancelled else EXIT_OK


def _beatcut_build(argv: list[str]) -> int:
    """``bgmatch train beatcut build [--edition tracker|gt] …``: today's BeatCut (cut on the engine's
    beats, ``bgmatch eval build``) or the ground-truth edition (cut on reference beats)."""
    edition = "tracker"
    for i, a in enumerate(argv):
        if a == "--edition" and i + 1 < len(argv) or a.startswith("--edition="):
            edition = a.partition("=")[2] if "=" in a else argv[i + 1]
            argv = argv[:i] + argv[i + (1 if "=" in a else 2):]
            break
    if edition == "gt":
        from .beatcut.gt_build import main as gt_main

        return gt_main(argv, prog="bgmatch train beatcut build --edition gt")
    if edition == "tracker":
        from .beatcut.build import main as build_main

        return build_main(argv, prog="bgmatch train beatcut build --edition tracker")
    print(f"error: --edition {edition!r}: choose tracker or gt", file=sys.stderr)
    return EXIT_ERROR


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["match.steps=100", …]`` → ``{"match.steps": 100, …}`` (values in TOML syntax)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE, e.g. match.steps=100")
        try:
            out[key.strip()] = tomllib.loads(f"value = {value}")["value"]
        except tomllib.TOMLDecodeError:
            raise ConfigError(f"--set {pair!r}: {value!r} is not a TOML value (quote strings: '\"text\"')") from None
    return out


def _print_progress(event: dict[str, Any]) -> None:
    if event.get("stage") == "prepare" or "step" not in event and "split" not in event:
        return  # the progress bar shows preparation
    numbers = " ".join(f"{k}={v:.4g}" for k, v in event.items() if isinstance(v, float))
    where = f"{event['stage']} {event['step']}/{event['total']}" if "step" in event else event["stage"]
    print(f"{where} {event.get('split', '')} {numbers}".replace("  ", " "), file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
