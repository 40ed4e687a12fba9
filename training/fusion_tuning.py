"""Choose the weight of a model's learned score in the full score on a validation split.

For each validation query the analysis-only ranking and the learned scores of its candidates are
computed once (:class:`FusionSample`); every weight on a grid then re-fuses them (cheap), and
the weight with the best Recall@k wins (ties: better mean reciprocal rank, then the smaller
weight). The truth is only used here, after ranking, on the validation split.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgmatch.engine.learned.bundle import ModelBundle
from bgmatch.engine.learned.bundle_format import set_fusion_weight
from bgmatch.engine.errors import BgmatchError, ConfigError
from bgmatch.engine.learned.fusion import fuse
from bgmatch.engine.library import Library
from bgmatch.engine.library.retrieval import Ranked

WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass
class FusionSample:
    """One query: the synchrony ranking of the gallery and the learned score of its candidates."""

    ranked: list[Ranked]
    learned: dict[str, float]


@dataclass(frozen=True)
class FusionTuning:
    """Recall@k and mean reciprocal rank per weight, and the chosen weight."""

    k: int
    table: dict[float, tuple[float, float]]
    weight: float

    def lines(self) -> list[str]:
        """The table as text lines."""
        out = [f"{'weight':>8}  recall@{self.k}     MRR"]
        for w, (recall, mrr) in self.table.items():
            out.append(f"{w:8.2f}  {recall:9.3f}  {mrr:6.3f}{'  ← chosen' if w == self.weight else ''}")
        return out


def fusion_sample(library: Library, bundle: ModelBundle, video: str | os.PathLike[str], *,
                  candidates: int | None = None) -> FusionSample:
    """Rank the library for ``video`` by synchrony and score its best candidates with ``bundle``."""
    query = library.query(video, bundle=bundle)
    ranked = library.sync_ranking(query.analysis, want=len(library))
    return FusionSample(ranked, library.learned_at_sync(query, ranked, bundle=bundle, candidates=candidates))


def rank_under(sample: FusionSample, weight: float, track_id: str) -> int:
    """1-based rank of ``track_id`` when ``sample`` is fused with ``weight`` (past the end if absent)."""
    order = [r.track_id for r in fuse(sample.ranked, sample.learned, weight=weight)]
    return order.index(track_id) + 1 if track_id in order else len(order) + 1


def choose_weight(samples: Sequence[FusionSample], truth: Sequence[str], *, weights: Sequence[float] = WEIGHTS,
                  k: int = 10) -> FusionTuning:
    """The weight with the best Recall@k over ``samples`` whose true tracks are ``truth``."""
    if not samples:
        raise ConfigError("no validation queries to choose the fusion weight on")
    table = {}
    for w in weights:
        ranks = np.array([rank_under(s, w, t) for s, t in zip(samples, truth)])
        table[float(w)] = (float(np.mean(ranks <= k)), float(np.mean(1.0 / ranks)))
    best = max(table, key=lambda w: (table[w][0], table[w][1], -w))
    return FusionTuning(k, table, best)


def tune_on_pairs(bundle_dir: str | os.PathLike[str], queries: Sequence[tuple[Path, Path]], gallery: Sequence[Path],
                  library_dir: str | os.PathLike[str], *, max_track_s: float = 600.0, write: bool = True,
                  progress: Callable[[int, int, str], None] | None = None) -> FusionTuning:
    """Choose (and with ``write`` record in the bundle) the fusion weight from (video, its music)
    pairs ranked against a gallery of music files, analysed into a library at ``library_dir``."""
    from bgmatch.engine.library import LibraryConfig

    bundle = ModelBundle.load(bundle_dir)
    with Library.open(library_dir, config=LibraryConfig(max_track_s=max_track_s)) as library:
        library.add(sorted(set(gallery) | {m for _, m in queries}))
        samples, truth = [], []
        for i, (video, music) in enumerate(queries):
            record = library.store.path_record(str(Path(music).absolute()))
            if record is None:
                continue  # its music could not be analysed
            if progress is not None:
                progress(i, len(queries), str(video))
            try:
                samples.append(fusion_sample(library, bundle, video))
                truth.append(record.track_id)
            except BgmatchError:
                continue  # a bad query video: skipped, as in training
    tuning = choose_weight(samples, truth)
    if write:
        set_fusion_weight(bundle_dir, tuning.weight)
    return tuning
