"""``bgmatch eval plot``: Recall@K against K for each method, one panel per results file."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bgmatch.engine.errors import BgmatchError, ConfigError

from .eval_metrics import recall_curve


def plot_recall(results: Sequence[str | Path], out_path: str | Path, *, max_k: int | None = None) -> Path:
    """Draw Recall@K (K = 1 … gallery size, or ``max_k``) per method from ``bgmatch eval`` JSON files."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("plotting needs matplotlib (pip install 'bgmatch[plot]')") from None
    docs = [json.loads(Path(r).read_text()) for r in results]
    fig, axes = plt.subplots(1, len(docs), figsize=(5.2 * len(docs), 4.2), squeeze=False, sharey=True)
    for ax, doc in zip(axes[0], docs):
        k_max = min(max_k or doc["gallery_size"], doc["gallery_size"])
        ks = range(1, k_max + 1)
        for name, m in doc["methods"].items():
            ax.plot(ks, recall_curve(m["ranks"], max_k=k_max), label=name, lw=1.8)
        ax.set_title(f"BeatCut {doc['split']}: {doc['n_queries']} queries, {doc['gallery_size']} tracks")
        ax.set_xlabel("K")
        ax.set_xscale("log")
        ax.set_xlim(1, k_max)
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("Recall@K")
    axes[0][0].set_ylim(0, 1.02)
    axes[0][-1].legend(loc="lower right")
    fig.tight_layout()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bgmatch eval plot", description=__doc__.split("\n")[0])
    p.add_argument("results", nargs="+", type=Path, help="SPLIT.json files written by `bgmatch eval`")
    p.add_argument("-o", "--out", type=Path, required=True, help="PNG to write")
    p.add_argument("--max-k", type=int, default=None, help="largest K (default: the gallery size)")
    args = p.parse_args(argv)
    try:
        print(f"wrote {plot_recall(args.results, args.out, max_k=args.max_k)}")
    except (BgmatchError, OSError, KeyError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
