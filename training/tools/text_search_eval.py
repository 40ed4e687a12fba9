"""Precision@10 of text search against package-level labels, with the chance rate beside it.

    python -m bgmatch.training.tools.text_search_eval ~/.cache/bgmatch-media/music --max-clips 8

Each immediate sub-folder of a root is one package (its tracks share a label, found by
:func:`package_label`); tracks are tagged with the shipped taggers, ranked by
:func:`bgmatch.engine.learned.textspace.text_scores` for each query of :data:`QUERIES`, and the
top 10 are checked against the query's expected label. Chance is the label's share of tracks.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgmatch.engine.learned.tagger import SR_HZ, Tagger, load_tagger
from bgmatch.engine.learned.textspace import load_tag_space, text_scores
from bgmatch.engine.analysis.media import decode_audio

# package name → what the package is (its Debian description and the LICENSES table)
PACKAGE_LABELS = {"wesnoth-1.16-music": "orchestral", "singularity-music": "electronic"}
# query → the label whose tracks should come first
QUERIES: dict[str, str] = {
    "orchestral": "orchestral",
    "epic orchestral": "orchestral",
    "classical strings": "orchestral",
    "violin and cello": "orchestral",
    "electronic": "electronic",
    "techno beat": "electronic",
    "synthesizer": "electronic",
    "futuristic sci-fi": "electronic",
}
# demo excerpt file stem → package (assets/LICENSES.md lists which package each excerpt is from)
DEMO_SINGULARITY = ("a-new-journey", "aberrations", "advanced-simulacra", "awakening", "by-product", "coherence",
                    "deprecation", "enemy-unknown", "inevitable", "nebula", "orbital-elevator", "through-space")


def package_label(path: Path) -> str:
    """The label of a track: from its package folder, or for a demo excerpt from its name."""
    for part in path.parts:
        if part in PACKAGE_LABELS:
            return PACKAGE_LABELS[part]
    return "electronic" if path.stem in DEMO_SINGULARITY else "orchestral"


@dataclass(frozen=True)
class QueryPrecision:
    query: str
    label: str
    precision_at_10: float
    chance: float


def tag_tracks(paths: Sequence[Path], *, tagger: Tagger, max_clips: int | None, max_duration_s: float | None = None,
               progress: Callable[[int, int, str], None] | None = None) -> np.ndarray:
    """Track tag probabilities ``[n_tracks, n_tags]`` of the files (of their first ``max_duration_s``)."""
    rows = []
    for i, path in enumerate(paths):
        y = decode_audio(path, sr_hz=SR_HZ, max_duration_s=max_duration_s)
        rows.append(tagger.tag(y, sr_hz=SR_HZ, max_clips=max_clips).track_probs)
        if progress:
            progress(i + 1, len(paths), path.name)
    return np.stack(rows)


def precision_table(paths: Sequence[Path], track_probs: np.ndarray, *, tag_names: Sequence[str],
                    queries: dict[str, str] = QUERIES, k: int = 10) -> list[QueryPrecision]:
    """Precision@k of each query against the tracks' package labels."""
    labels = np.array([package_label(p) for p in paths])
    space = load_tag_space(tag_names)
    rows = []
    for query, label in queries.items():
        order = np.argsort(-text_scores(query, track_probs, space=space), kind="stable")[:k]
        rows.append(QueryPrecision(query, label, float((labels[order] == label).mean()), float((labels == label).mean())))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", type=Path, nargs="+", help="folders of music (package sub-folders or demo excerpts)")
    parser.add_argument("--max-clips", type=int, default=None, help="clips tagged per track (default all)")
    args = parser.parse_args(argv)
    paths = sorted(p for root in args.roots for p in root.rglob("*") if p.suffix in {".ogg", ".opus"})
    tagger = load_tagger("all")
    probs = tag_tracks(paths, tagger=tagger, max_clips=args.max_clips)
    rows = precision_table(paths, probs, tag_names=tagger.tag_names)
    print(f"{len(paths)} tracks\n\n| query | expected | precision@10 | chance |\n| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r.query} | {r.label} | {r.precision_at_10:.1f} | {r.chance:.2f} |")
    print(f"| mean | | {np.mean([r.precision_at_10 for r in rows]):.2f} | {np.mean([r.chance for r in rows]):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
