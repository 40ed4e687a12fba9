"""Text steering over a library's stored tags: rank tracks by a text query, and blend a text
score into a video's ranking (Control-MVR's query-time weighting).

The text reaches the tags through the MiniLM tag space (:mod:`..learned.textspace`): an empty
text is a ``ConfigError``, a text near no tag a ``NoTextMatchError`` (never an arbitrary order).
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from ..analysis.sync import Ranked
from ..errors import ConfigError, LibraryError
from .store import FeatureStore
from .tags import latest_tags_key, stored_tags

SUGGEST_CANDIDATES = 50
"""Video-ranked candidates a text query re-orders when blended in (every track in small libraries)."""


@dataclass(frozen=True)
class TextRanking:
    """Text scores of the tagged tracks for one query and the tags the query matched."""

    scores: dict[str, float]  # track id → score in [0, 1]
    matched: tuple[tuple[str, float], ...]  # (tag, weight), the tags the query reaches, best first


@functools.lru_cache(maxsize=4)
def _space(tag_names: tuple[str, ...]):
    from ..learned.textspace import load_tag_space

    return load_tag_space(tag_names)


def text_ranking(store: FeatureStore, text: str) -> TextRanking:
    """Score every tagged track of ``store`` for ``text`` (``LibraryError`` when none is tagged)."""
    if not (text or "").strip():
        raise ConfigError("the text query is empty: type a few words such as 'calm piano' or 'epic orchestral'")
    key = latest_tags_key(store)
    ids, rows, names = [], [], None
    for track_id in store.track_ids() if key else []:
        tags = stored_tags(store, key, track_id)
        if tags is not None:
            ids.append(track_id)
            rows.append(tags.track_probs)
            names = tags.tag_names
    if not ids:
        raise LibraryError("no track in the library has tags yet; run `bgmatch index` to tag them")
    from ..learned.textspace import match_text

    space = _space(names)
    match = match_text(text, space)
    scores = np.stack(rows) @ match.tag_weights
    order = np.argsort(-match.tag_weights, kind="stable")
    matched = tuple((names[i], float(match.tag_weights[i])) for i in order if match.tag_weights[i] > 1e-3)
    return TextRanking(dict(zip(ids, map(float, scores))), matched)


def _z(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-12 else np.zeros_like(values)


def blend(ranked: list[Ranked], text: TextRanking, *, text_weight: float) -> list[Ranked]:
    """Re-order ``ranked`` by ``(1 − W)·z(video score) + W·z(text score)`` over its tracks.

    ``parts`` gain ``video`` (the score before blending) and ``text``. An untagged track gets
    the lowest text score of the others. W = 0 returns ``ranked`` unchanged.
    """
    if not 0.0 <= text_weight <= 1.0:
        raise ConfigError(f"the text weight must be between 0 and 1, got {text_weight:g}")
    if text_weight == 0.0 or not ranked:
        return ranked
    video = np.array([r.score for r in ranked], np.float64)
    known = [text.scores[r.track_id] for r in ranked if r.track_id in text.scores]
    floor = min(known) if known else 0.0
    words = np.array([text.scores.get(r.track_id, floor) for r in ranked], np.float64)
    final = (1.0 - text_weight) * _z(video) + text_weight * _z(words)
    out = [dataclasses.replace(r, score=float(f), parts={**r.parts, "video": float(v), "text": float(w)})
           for r, f, v, w in zip(ranked, final, video, words)]
    order = sorted(range(len(out)), key=lambda i: -final[i])  # stable: ties keep the video order
    return [out[i] for i in order]
