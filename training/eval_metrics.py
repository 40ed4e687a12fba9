"""Metrics of the BeatCut evaluation: pure functions over rankings, cut times and beat times.

Definitions (every method, every query of a split, the same gallery):

- ``rank``: 1-based position of the query's true track in the method's ranking (first mention
  counts; a ranking that leaves the true track out counts as the gallery size).
- ``recall@k``: share of queries with ``rank <= k``; ``median_rank``: median of ``rank``.
- ``sync error`` of one query: the median, over the query's true cut times ``c``, of the distance
  from ``offset + c`` to the nearest beat of the returned top-1 track, where ``offset`` is the
  returned start offset. It asks "do the cuts land on the returned music's beats?", so a
  different track (or a repeat of the same passage) that fits just as well is not penalised.
  Split-level: the median over queries (queries without cuts are left out); the mean is kept too.
- ``offset error``: ``|returned offset − true offset|`` of the top-1 answer, over the queries
  whose top-1 track is the true one (elsewhere it means nothing); median and mean, and the count.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def rank_of(ranking: Sequence[str], truth: str, *, gallery_size: int) -> int:
    """1-based rank of ``truth`` among the distinct track ids of ``ranking``; ``gallery_size`` if absent."""
    seen: set[str] = set()
    for track_id in ranking:
        if track_id in seen:
            continue
        seen.add(track_id)
        if track_id == truth:
            return len(seen)
    return gallery_size


def recall_at(ranks: Sequence[int], k: int) -> float:
    """Share of ``ranks`` (1-based) that are at most ``k``."""
    r = np.asarray(ranks)
    return float(np.mean(r <= k)) if len(r) else float("nan")


def recall_curve(ranks: Sequence[int], *, max_k: int) -> np.ndarray:
    """``[max_k]`` Recall@K for K = 1 … ``max_k``."""
    r = np.asarray(ranks)
    return np.array([np.mean(r <= k) if len(r) else np.nan for k in range(1, max_k + 1)], np.float64)


def distance_to_beats(times_s: np.ndarray, beat_times_s: np.ndarray) -> np.ndarray:
    """Distance (s) from each of ``times_s`` ``[N]`` to the nearest of the sorted ``beat_times_s`` ``[B]``.

    ``inf`` for every time when there are no beats.
    """
    t = np.asarray(times_s, np.float64)
    beats = np.asarray(beat_times_s, np.float64)
    if len(beats) == 0:
        return np.full(len(t), np.inf)
    i = np.clip(np.searchsorted(beats, t), 1, max(len(beats) - 1, 1))
    before = beats[np.minimum(i - 1, len(beats) - 1)]
    after = beats[np.minimum(i, len(beats) - 1)]
    return np.minimum(np.abs(t - before), np.abs(after - t))


def sync_error_s(cut_times_s: Sequence[float], beat_times_s: np.ndarray, *, offset_s: float) -> float:
    """Median distance (s) from the cuts, placed at ``offset_s`` in the track, to its nearest beats.

    NaN when there are no cuts.
    """
    cuts = np.asarray(cut_times_s, np.float64)
    if len(cuts) == 0:
        return float("nan")
    return float(np.median(distance_to_beats(cuts + offset_s, beat_times_s)))


def median_finite(values: Sequence[float]) -> float:
    """Median of the finite values (NaN when there are none)."""
    v = np.asarray([x for x in values if np.isfinite(x)], np.float64)
    return float(np.median(v)) if len(v) else float("nan")


def mean_finite(values: Sequence[float]) -> float:
    """Mean of the finite values (NaN when there are none)."""
    v = np.asarray([x for x in values if np.isfinite(x)], np.float64)
    return float(np.mean(v)) if len(v) else float("nan")


def summarize(ranks: Sequence[int], sync_errors_s: Sequence[float], offset_errors_s: Sequence[float | None],
              *, seconds: float, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """The split-level table row of one method.

    ``ranks``, ``sync_errors_s`` and ``offset_errors_s`` have one entry per query (offset error
    ``None`` where the top-1 track is wrong); ``seconds``: the method's total ranking time.
    """
    hits = [e for e in offset_errors_s if e is not None]
    row = {f"recall@{k}": recall_at(ranks, k) for k in ks}
    row.update({
        "median_rank": float(np.median(ranks)) if len(ranks) else float("nan"),
        "sync_error_ms": 1000 * median_finite(sync_errors_s),
        "sync_error_mean_ms": 1000 * mean_finite(sync_errors_s),
        "offset_error_s": median_finite(hits),
        "offset_error_mean_s": mean_finite(hits),
        "offset_error_n": float(len(hits)),
        "queries_per_s": len(ranks) / seconds if seconds > 0 else float("nan"),
        "n_queries": float(len(ranks)),
    })
    return row
