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
from collections.abc import Mapping

import numpy as np

from ..analysis.sync import Ranked
from .bundle import ModelBundle
from .embeddings import EncodedWindows, MusicEmbedding, VideoEmbedding


def scores_at_offsets(bundle: ModelBundle, video: VideoEmbedding, music: Mapping[str, MusicEmbedding],
                      offsets_s: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """(learned score, its window's offset s) of each track of ``music`` at the window nearest
    its offset in ``offsets_s``, in one batched matching pass over all the tracks."""
    if not music:
        return {}
    encoded = bundle.encode_video(video)
    pairs = []
    for track_id, embedding in music.items():
        start = float(embedding.starts_s[np.argmin(np.abs(embedding.starts_s - offsets_s[track_id]))])
        pairs.append((track_id, embedding, start))
    windows = bundle.encode_track_windows([(e, start) for _, e, start in pairs], n_clips=len(video.clip_features))
    scores = bundle.score_windows(encoded, windows)
    return {t: (float(score), start) for (t, _, start), score in zip(pairs, scores)}


def best_window_scores(bundle: ModelBundle, video: VideoEmbedding, windows: Mapping[str, EncodedWindows]
                       ) -> dict[str, tuple[float, float]]:
    """(best learned score, its window's offset s) of each track over the windows given for it
    (``ModelBundle.fitting_windows``)."""
    encoded = bundle.encode_video(video)
    out = {}
    for track_id, track_windows in windows.items():
        scores = bundle.score_windows(encoded, track_windows)
        best = int(np.argmax(scores))
        out[track_id] = (float(scores[best]), float(track_windows.offsets_s[best]))
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
