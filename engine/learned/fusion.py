"""The full score: the analysis-only synchrony score fused with a trained model's learned score.

Re-ranking by synchrony (``retrieval.rerank``) orders every candidate track; the best
``retrieval.FusionConfig.candidates`` of them also get the learned similarity of the video to the
track's window at the synchrony offset (snapped to the clip hop), standardised over those
candidates, and are re-ordered by ``sync total + weight · z(learned)``. One window per track
keeps a suggestion quick (a track's every window would cost a matching-model pass over the whole
track); on BeatCut valid it ranks as well as the best window does. Standardising makes the
weight independent of the model's score scale, so one weight chosen on a validation split carries over to any library size. The
start offset stays the synchrony one: it is placed to the beat, the learned windows only to a
clip hop.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .embed import ModelBundle, MusicEmbedding, VideoEmbedding
from ..library.retrieval import Ranked


def learned_scores(bundle: ModelBundle, video: VideoEmbedding, track_ids: Sequence[str],
                   music: Callable[[str], MusicEmbedding | None], *,
                   offsets_s: Mapping[str, float] | None = None) -> dict[str, tuple[float, float]]:
    """(learned score, its window's offset s) of each track: at the window nearest the track's
    offset in ``offsets_s``, else the best over every window from which the video fits.
    ``music(track_id)`` gives a track's embedding (None: skip the track); for best windows it is
    only called when the bundle has not cached the track's windows yet."""
    encoded = bundle.encode_video(video)
    n_clips = len(video.clip_features)
    out = {}
    at_offset = {t for t in track_ids if offsets_s is not None and t in offsets_s}
    pairs = []
    for track_id in (t for t in track_ids if t in at_offset):  # in the caller's order
        embedding = music(track_id)
        if embedding is not None:
            start = float(embedding.starts_s[np.argmin(np.abs(embedding.starts_s - offsets_s[track_id]))])
            pairs.append((track_id, embedding, start))
    if pairs:  # one batched pass over every track's window
        windows = bundle.encode_track_windows([(e, start) for _, e, start in pairs], n_clips=n_clips)
        scores = bundle.score_windows(encoded, windows)
        out.update({t: (float(score), start) for (t, _, start), score in zip(pairs, scores)})
    for track_id in track_ids:
        if track_id in at_offset:
            continue
        windows = bundle.track_windows(track_id, n_clips, lambda t=track_id: music(t), duration_s=video.duration_s)
        if windows is None:
            continue
        scores = bundle.score_windows(encoded, windows)
        best = int(np.argmax(scores))
        out[track_id] = (float(scores[best]), float(windows.offsets_s[best]))
    return out


def standardized(scores: dict[str, float]) -> dict[str, float]:
    """(score − mean) / std over the given tracks (0 for all when they are all equal)."""
    if not scores:
        return {}
    values = np.array(list(scores.values()), np.float64)
    spread = float(values.std())
    if spread < 1e-9:
        return {t: 0.0 for t in scores}
    mean = float(values.mean())
    return {t: (v - mean) / spread for t, v in scores.items()}


def fuse(ranked: list[Ranked], learned: dict[str, float], *, weight: float) -> list[Ranked]:
    """Re-order the tracks of ``ranked`` that have a ``learned`` score by sync + weight·z(learned);
    the others keep their order after them. Each fused track's parts gain ``learned`` (its z)."""
    z = standardized({r.track_id: learned[r.track_id] for r in ranked if r.track_id in learned})
    fused = [dataclasses.replace(r, score=r.score + weight * z[r.track_id], parts={**r.parts, "learned": z[r.track_id]})
             for r in ranked if r.track_id in z]
    fused.sort(key=lambda r: -r.score)
    return fused + [r for r in ranked if r.track_id not in z]
