"""Ablation of the analysis-only score's parts, as ``bgmatch eval`` methods.

    bgmatch eval BENCH --split valid --methods sync --ablation        (every variant below)
    bgmatch eval BENCH --methods sync,sync:-onset,sync:-bar …          (some)

Each variant ranks the whole gallery as the library does (:func:`bgmatch.engine.library.retrieval.rerank`
over :func:`bgmatch.engine.analysis.sync.track_curves` of the stored, corrected analysis) with one
:class:`~bgmatch.engine.analysis.sync.SyncConfig` change: a part taken out (``-``) or, for the
phrase and hit parts, which weigh 0 by default, put in (``+``). ``sync:default`` is the default
config through this path (it must rank as ``sync`` does). Nothing here changes a default.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from bgmatch.engine.analysis.sync import SyncConfig, TrackCurves, track_curves, video_curves
from bgmatch.engine.library.retrieval import rerank

from .eval_methods import MethodContext, MethodFactory, Ranking

#: Variant name → the SyncConfig fields it changes (weights of the parts, see engine/analysis/sync.py).
ABLATIONS: dict[str, dict[str, float]] = {
    "sync:default": {},
    "sync:beat-only": {"onset_weight": 0.0, "energy_weight": 0.0, "motion_peak_weight": 0.0, "bar_weight": 0.0},
    "sync:-onset": {"onset_weight": 0.0},
    "sync:-energy": {"energy_weight": 0.0},
    "sync:-motion-peaks": {"motion_peak_weight": 0.0},
    "sync:-bar": {"bar_weight": 0.0},
    "sync:+phrase": {"phrase_weight": 0.5},
    "sync:+hit": {"hit_weight": 0.5},
}


class SyncVariantScorer:
    """The analysis-only ranking with one :class:`SyncConfig`; a track's curves are computed once."""

    def __init__(self, ctx: MethodContext, name: str, config: SyncConfig) -> None:
        self.ctx, self.name, self.config = ctx, name, config
        self._curves: dict[str, TrackCurves] = {}

    def rank(self, video_path: Path) -> Ranking:
        library = self.ctx.library
        for track_id in library.store.track_ids():
            if track_id not in self._curves:
                self._curves[track_id] = track_curves(library.scoring_analysis(track_id), config=self.config)
        video = video_curves(self.ctx.analyses.get(video_path), config=self.config)
        return [(r.track_id, r.offset_s) for r in rerank(video, self._curves, config=self.config)]


def ablation_factory(name: str) -> MethodFactory:
    """The method factory of one :data:`ABLATIONS` variant."""
    config = dataclasses.replace(SyncConfig(), **ABLATIONS[name])

    def factory(ctx: MethodContext) -> SyncVariantScorer:
        return SyncVariantScorer(ctx, name, config)

    return factory
