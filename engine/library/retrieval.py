"""Two-stage retrieval: recall candidate tracks from the window index, then re-rank each
candidate by clip-level synchrony over every start offset."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .index import WindowIndex
from ..analysis.sync import Ranked, SyncConfig, TrackCurves, VideoCurves, best_offset, score_offsets


@dataclass(frozen=True)
class RetrievalConfig:
    """How many candidates the recall stage passes to re-ranking."""

    exact_below_tracks: int = 2000  # re-rank every track in libraries up to this size
    candidate_tracks: int = 500  # otherwise, this many tracks from the window index
    sync: SyncConfig = field(default_factory=SyncConfig)


@dataclass(frozen=True)
class FusionConfig:
    """How many sync-ranked tracks get a learned score, and its weight (None: the bundle's
    ``score.fusion_weight``, chosen on a validation split when it was trained)."""

    candidates: int = 100
    weight: float | None = None
    music_hop_s: float | None = None
    """Spacing of a track's stored clip embeddings (None: one clip length, ``clip_s``). The learned
    score is taken at the synchrony offset snapped to this grid. On BeatCut valid, fused Recall@10
    with a 4 s grid was within 0.04 of a 1 s grid in two measurements (0.73 against 0.69, and 0.69
    against 0.72), for a quarter of the encoder work at index time."""


def recall(index: WindowIndex, query: np.ndarray, *, n_tracks: int, want: int) -> list[str]:
    """Track ids of the windows nearest to ``query``, best first, until ``want`` distinct tracks."""
    k = min(index.index.ntotal, max(want * 8, 64))
    while True:
        _, rows = index.search(query[None, :], k)
        ids: list[str] = []
        seen: set[str] = set()
        for r in rows[0]:
            if r < 0:
                continue
            t = index.track_ids[r]
            if t not in seen:
                seen.add(t)
                ids.append(t)
        if len(ids) >= min(want, n_tracks) or k >= index.index.ntotal:
            return ids[:want]
        k = min(index.index.ntotal, k * 4)


def rerank(video: VideoCurves, tracks: dict[str, TrackCurves], *, config: SyncConfig = SyncConfig()) -> list[Ranked]:
    """Score each track at its best offset; best first."""
    out = []
    for track_id, curves in tracks.items():
        offset_s, score, parts = best_offset(score_offsets(curves, video, config=config))
        out.append(Ranked(track_id, score, offset_s, parts))
    out.sort(key=lambda r: -r.score)
    return out
