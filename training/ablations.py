"""Train the paper's configuration, ours, and ablations of ours from one config, for ``bgmatch eval``.

    python -m bgmatch.training.ablations training/configs/small.toml --out-dir runs/ablations [--jobs 2]
        [--only ours,no-rhythm] [--set KEY=VALUE …]

Every variant is the same config plus a few overrides (:data:`VARIANTS`), trained in
``OUT/<variant>/`` on data prepared once in ``OUT/prepared``. "ours" runs first; the variants
that pretrain the same way start from its pretrained encoders (pretraining does not depend on
the matching settings), so only their matching stage runs. Fusion weights are not chosen here:
``bgmatch eval BENCH --split valid --model NAME=OUT/NAME/model … --tune-fusion`` chooses every
variant's on one shared gallery, then ``--split test`` reports them side by side.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bgmatch.engine.errors import BgmatchError, ConfigError

from .cli import parse_overrides

_PAPER = {"model.matching.clip_level": False, "match.losses.infonce": 0.0, "model.matching.periodicity_dim": 0}
VARIANTS: dict[str, dict[str, Any]] = {
    "paper": {**_PAPER, "model.matching.use_rhythm_tokens": False, "model.matching.use_flow_tokens": False},
    "paper+rhythm+flow": dict(_PAPER),
    "ours": {},
    "no-rhythm": {"model.matching.use_rhythm_tokens": False},
    "no-flow": {"model.matching.use_flow_tokens": False},
    "no-pretraining": {"pretrain.enabled": False},
    "no-clip-level": {"model.matching.clip_level": False},
    "pseudo-targets": {"targets.source": "pseudo"},
}
"""Variant → config overrides. The paper's configuration: file-level (pooled) features, no rhythm
or flow tokens, no periodicity features, its losses only (no InfoNCE); "paper+rhythm+flow" adds
the tokens back. "no-rhythm" / "no-flow" drop one side's tokens and periodicity. "pseudo-targets"
pretrains on the pseudo-tags instead of the tagger's tags (the unified target's ablation)."""


def variant_overrides(name: str, out_dir: Path, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides of one variant's run in ``out_dir``."""
    return {**extra, **VARIANTS[name], "run.out_dir": str(out_dir / name),
            "data.prepared_dir": str(out_dir / "prepared"), "eval.tune_fusion": False}


def _command(config: Path, overrides: Mapping[str, Any], *, prepare: bool) -> list[str]:
    def toml(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return f'"{value}"' if isinstance(value, str) else repr(value)

    stages = [] if prepare else ["--stages", "pretrain,match,eval"]  # the data is prepared once, by the first
    return [sys.executable, "-m", "bgmatch.training.cli", str(config), "--quiet", *stages,
            *(a for k, v in overrides.items() for a in ("--set", f"{k}={toml(v)}"))]


def _shares_pretraining(name: str) -> bool:
    return not any(key.startswith(("pretrain.", "targets.")) for key in VARIANTS[name])


def run_variants(config: Path, out_dir: Path, names: Sequence[str], *, jobs: int = 1,
                 extra: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Train the named variants (``ours`` first when named); returns each one's exit code."""
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    extra = dict(extra or {})
    codes: dict[str, int] = {}

    def train(name: str, prepare: bool = False) -> int:
        ours_pretrained = out_dir / "ours" / "pretrain"
        target = out_dir / name / "pretrain"
        if name != "ours" and _shares_pretraining(name) and ours_pretrained.is_dir() and not target.exists():
            shutil.copytree(ours_pretrained, target)
        log = out_dir / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as f:
            command = _command(config, variant_overrides(name, out_dir, extra), prepare=prepare)
            code = subprocess.run(command, stdout=f,
                                  stderr=subprocess.STDOUT).returncode
        print(f"{name}: {'done' if code == 0 else f'exit {code}, see {log}'}", flush=True)
        return code

    rest = [n for n in names if n != "ours"]
    if "ours" in names:
        codes["ours"] = train("ours", prepare=True)
    elif rest:
        codes[rest[0]] = train(rest.pop(0), prepare=True)  # prepares the data alone
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        codes.update(zip(rest, pool.map(train, rest)))
    return codes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bgmatch.training.ablations", description=__doc__.split("\n\n")[0])
    p.add_argument("config", type=Path, help="base training config, e.g. training/configs/small.toml")
    p.add_argument("--out-dir", type=Path, required=True, help="one run folder per variant goes here")
    p.add_argument("--only", default=",".join(VARIANTS), help="comma-separated variants (default: all: %(default)s)")
    p.add_argument("--jobs", type=int, default=1, help="variants trained at once after 'ours' (default 1)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override for every variant (TOML value), e.g. data.root='\"~/beatcut\"'")
    args = p.parse_args(argv)
    try:
        codes = run_variants(args.config.resolve(), args.out_dir.resolve(),
                             [n.strip() for n in args.only.split(",") if n.strip()], jobs=args.jobs,
                             extra=parse_overrides(args.overrides))
    except BgmatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    models = " ".join(f"--model '{n}={args.out_dir / n / 'model'}'" for n, c in codes.items() if c == 0)
    print(f"next: bgmatch eval BENCH --split valid {models} --tune-fusion, then the same with --split test")
    return 0 if all(c == 0 for c in codes.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
