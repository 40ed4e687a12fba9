"""The analysis-only score: how well a video's cuts and motion line up with a track's rhythm.

For every candidate start offset in the track, three parts are computed on a common time grid:

- ``beat``: mean log-likelihood ratio, per video event (cuts, and motion peaks at a lower
  weight), of "placed on a beat, with a little jitter" against "placed at random": a cut on a
  beat of a slow track is stronger evidence than one on a fast track, so tempo is not favoured;
- ``onset``: the mean percentile, within the track, of its onset strength at the video's events,
  less one half: 0 for events placed at random on any track, so that a track whose onsets are a
  few loud spikes is not favoured when the best of many offsets is taken (as a z-score did);
- ``energy``: Pearson correlation of the video's motion curve with the track's loudness;
- ``bar``: as ``beat``, for the video's cuts and its start against the track's downbeats (an
  editor cuts on bar lines and starts on one, so the offset keeps the bar phase);
- ``phrase``: as ``bar``, for the video's cuts against phrase and section starts (bgmatch sees
  no scene change but a cut, so a cut stands for one);
- ``hit``: as ``beat``, for the video's events against the track's audible hits (the onset
  envelope's prominent peaks, on the beat grid or not: editors also cut on a hit they hear).

All offsets are scored at once with FFT correlation. Pure functions over numpy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .motion import VideoAnalysis
from .rhythm import MusicAnalysis

GRID_HZ = 20.0



@dataclass(frozen=True)
class Ranked:
    """One re-ranked track: its best offset, score and score parts."""

    track_id: str
    score: float
    offset_s: float
    parts: dict[str, float]


@dataclass(frozen=True)
class SyncConfig:
    """Weights and widths of the analysis-only score."""

    # Beat and energy weights chosen on a tuning set of 17 edited queries over the 24 demo tracks
    # (not the tests' queries); the onset and bar weights on the ground-truth BeatCut's valid and
    # train splits (README "The ground-truth edition"), where both helped on each.
    beat_weight: float = 1.0
    onset_weight: float = 2.0
    energy_weight: float = 0.2
    beat_sigma_s: float = 0.07  # spread of an editor's cut around a beat (a frame or two)
    off_beat_share: float = 0.25  # share of cuts an editor places off the beat
    motion_peak_weight: float = 0.25
    energy_smooth_s: float = 1.0
    # Rewards for cuts on bar lines and on phrase/section starts (README "Bars, phrases and
    # sections"); the phrase part did not help on both tuning splits, so it weighs 0.
    bar_weight: float = 0.5
    phrase_weight: float = 0.0
    off_bar_share: float = 0.5  # share of cuts an editor places off the bar lines
    off_phrase_share: float = 0.8  # share of cuts an editor places off phrase and section starts
    # Reward for events on audible hits: 0 until measured on a ground-truth BeatCut's validation split.
    hit_weight: float = 0.0
    hit_prominence: float = 1.5  # a hit's onset peak stands this many standard deviations above its surroundings
    hit_min_gap_s: float = 0.15  # hits closer than this are one hit
    off_hit_share: float = 0.5  # share of events an editor places off the hits


@dataclass(frozen=True)
class TrackCurves:
    """A track's rhythm resampled to the score grid (derived from :class:`MusicAnalysis`)."""

    beat_train: np.ndarray  # [G] log-likelihood ratio of a cut at each time (on-beat vs random)
    onset_rank: np.ndarray  # [G] percentile of the onset strength within the track, less 0.5
    energy: np.ndarray  # [G] RMS energy
    bar_train: np.ndarray | None = None  # [G] the same ratio for downbeats (None: none known, or bar part off)
    phrase_train: np.ndarray | None = None  # [G] the same ratio for phrase and section starts (None: the same)
    hit_train: np.ndarray | None = None  # [G] the same ratio for audible hits (None: hit part off)


@dataclass(frozen=True)
class VideoCurves:
    """A video's events and motion on the score grid."""

    events: np.ndarray  # [L] weighted impulses at cuts and motion peaks
    motion: np.ndarray  # [L] motion curve
    cuts: np.ndarray | None = None  # [L] impulses at the cuts only


def _resample(values: np.ndarray, rate_hz: float, n_out: int, *, reduce: str = "max") -> np.ndarray:
    """Resample a curve from ``rate_hz`` to :data:`GRID_HZ` by max- or mean-pooling."""
    if len(values) == 0:
        return np.zeros(n_out, np.float32)
    idx = np.minimum((np.arange(len(values)) / rate_hz * GRID_HZ).astype(int), n_out - 1)
    out = np.full(n_out, -np.inf if reduce == "max" else 0.0)
    if reduce == "max":
        # idx never decreases: the maximum of each run of equal cells (reduceat, many times faster
        # than np.maximum.at, which dominated ranking a library of whole tracks).
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
        out[idx[starts]] = np.maximum.reduceat(np.asarray(values, np.float64), starts)
        # Grid cells between source samples take the nearest earlier value (forward fill).
        filled = np.maximum.accumulate(np.where(np.isfinite(out), np.arange(n_out), 0))
        out = out[filled]
        out[~np.isfinite(out)] = 0.0
    else:
        counts = np.bincount(idx, minlength=n_out)
        out = np.bincount(idx, weights=values, minlength=n_out) / np.maximum(counts, 1)
    return out.astype(np.float32)


def _smooth(x: np.ndarray, width_s: float) -> np.ndarray:
    """Moving average over ``width_s`` (the loudness/motion trend, not single hits)."""
    k = max(1, int(round(width_s * GRID_HZ)))
    if k == 1 or len(x) < k:
        return x
    return np.convolve(x, np.ones(k, np.float32) / k, mode="same").astype(np.float32)


def _percentile(x: np.ndarray) -> np.ndarray:
    """Each value's percentile within ``x`` (ties share their mean rank, as ``scipy.stats.rankdata``
    gives them, in about 60 % of its time), less 0.5: mean 0 and the same spread for every curve,
    whatever the shape of its distribution."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
    return (mean_rank[inverse] / len(x) - 0.5).astype(np.float32)


def _grid_train(times_s: np.ndarray, t: np.ndarray, *, sigma_s: float, off_share: float,
                spacing_s: float | None = None) -> np.ndarray:
    """Log-likelihood ratio ``[G]`` at times ``t`` of "an event placed on one of ``times_s``,
    with jitter ``sigma_s``" (share ``1 - off_share``) against "placed at random": the random
    explanation spreads over the local spacing of ``times_s``, so a sparse grid is not favoured;
    or over ``spacing_s`` everywhere (irregular times: the local gap would favour isolated ones)."""
    eps = off_share
    out = np.full(len(t), np.log(eps), np.float32)  # no grid time near: only the off-grid explanation
    if len(times_s) >= 2:
        # Distance to the nearest grid time, and the local spacing (the span a random event falls in).
        pos = np.clip(np.searchsorted(times_s, t), 1, len(times_s) - 1)
        prev, nxt = times_s[pos - 1], times_s[pos]
        d = np.minimum(np.abs(t - prev), np.abs(nxt - t))
        period = nxt - prev
        inside = (t >= times_s[0] - period / 2) & (t <= times_s[-1] + period / 2)
        if spacing_s is not None:
            period = np.full(len(t), spacing_s)
        on_grid = period / (sigma_s * np.sqrt(2 * np.pi)) * np.exp(-0.5 * (d / sigma_s) ** 2)
        out = np.where(inside, np.log((1 - eps) * on_grid + eps), np.log(eps)).astype(np.float32)
    return out


def hit_times(music: MusicAnalysis, *, config: SyncConfig = SyncConfig()) -> np.ndarray:
    """Times (s) ``[H]`` of the track's audible hits: onset-envelope peaks whose prominence is at
    least ``hit_prominence`` standard deviations of the envelope, ``hit_min_gap_s`` apart."""
    from scipy.signal import find_peaks

    env = np.asarray(music.onset_envelope, np.float64)
    if len(env) < 3 or env.std() <= 0:
        return np.zeros(0, np.float64)
    distance = max(1, int(round(config.hit_min_gap_s * music.frame_rate_hz)))
    peaks, _ = find_peaks(env, prominence=config.hit_prominence * env.std(), distance=distance)
    return peaks / music.frame_rate_hz


def track_curves(music: MusicAnalysis, *, config: SyncConfig = SyncConfig()) -> TrackCurves:
    """Resample a track's analysis onto the score grid."""
    n = max(1, int(np.ceil(music.duration_s * GRID_HZ)))
    t = np.arange(n) / GRID_HZ
    beat = _grid_train(music.beat_times_s, t, sigma_s=config.beat_sigma_s, off_share=config.off_beat_share)
    onset = _percentile(_resample(music.onset_envelope, music.frame_rate_hz, n, reduce="max"))
    energy = _smooth(_resample(music.rms, music.frame_rate_hz, n, reduce="mean"), config.energy_smooth_s)
    downs = np.asarray(music.downbeat_times_s, np.float64)
    bar = phrase = None  # each only where it weighs (a part that weighs 0 is not scored)
    if len(downs) >= 2 and config.bar_weight:
        bar = _grid_train(downs, t, sigma_s=config.beat_sigma_s, off_share=config.off_bar_share)
    if len(downs) >= 2 and config.phrase_weight:
        starts = np.union1d(np.asarray(music.phrase_times_s, np.float64), np.asarray(music.section_times_s, np.float64))
        if len(starts) >= 2:
            phrase = _grid_train(starts, t, sigma_s=config.beat_sigma_s, off_share=config.off_phrase_share)
    hit = None
    if config.hit_weight:
        hits = hit_times(music, config=config)
        if len(hits) >= 2:
            hit = _grid_train(hits, t, sigma_s=config.beat_sigma_s, off_share=config.off_hit_share,
                              spacing_s=music.duration_s / len(hits))
    return TrackCurves(beat, onset, energy, bar, phrase, hit)


def video_curves(video: VideoAnalysis, *, config: SyncConfig = SyncConfig()) -> VideoCurves:
    """Put a video's cuts, motion peaks and motion curve onto the score grid."""
    n = max(1, int(np.ceil(video.duration_s * GRID_HZ)))
    rate = 1.0 / float(np.median(np.diff(video.times_s))) if len(video.times_s) > 1 else GRID_HZ
    motion = _smooth(_resample(video.motion, rate, n, reduce="mean"), config.energy_smooth_s)
    events = np.zeros(n, np.float32)
    cut_idx = np.clip(np.round(video.cut_times_s * GRID_HZ).astype(int), 0, n - 1)
    np.add.at(events, cut_idx, 1.0)
    if config.motion_peak_weight > 0 and motion.max() > 0:
        from scipy.signal import find_peaks

        peaks, _ = find_peaks(motion, prominence=0.5 * motion.std(), distance=int(0.3 * GRID_HZ))
        far = [p for p in peaks if len(cut_idx) == 0 or np.abs(cut_idx - p).min() > 2]
        np.add.at(events, np.asarray(far, int), config.motion_peak_weight)
    cuts = np.zeros(n, np.float32)
    np.add.at(cuts, cut_idx, 1.0)
    return VideoCurves(events, motion, cuts)


def correlate(a: np.ndarray, b: np.ndarray, **kwargs):
    """``scipy.signal.correlate``, imported on first use (the import costs over a second of
    every start-up otherwise)."""
    from scipy.signal import correlate as scipy_correlate

    return scipy_correlate(a, b, **kwargs)


def _sliding_corr(motion: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``motion`` [L] with every length-L window of ``energy`` [G ≥ L]."""
    n = len(motion)
    m = motion - motion.mean()
    m_norm = np.sqrt((m * m).sum())
    if m_norm < 1e-8:
        return np.zeros(len(energy) - n + 1, np.float32)
    cs = np.concatenate([[0.0], np.cumsum(energy, dtype=np.float64)])
    cs2 = np.concatenate([[0.0], np.cumsum(energy.astype(np.float64) ** 2)])
    sums = cs[n:] - cs[:-n]
    var = np.maximum(cs2[n:] - cs2[:-n] - sums * sums / n, 0.0)
    dots = correlate(energy, m, mode="valid", method="fft")
    return (dots / (np.sqrt(var) * m_norm + 1e-8)).astype(np.float32)


def _reward(train: np.ndarray | None, events: np.ndarray, n_offsets: int) -> np.ndarray:
    """Mean of ``train`` at the ``events`` for every offset ``[O]`` (0 without a train or events),
    relative to an event off every grid time (so a track without the grid neither gains nor loses)."""
    weight = float(events.sum())
    if train is None or weight <= 0:
        return np.zeros(n_offsets, np.float32)
    if len(train) < len(events):
        train = np.pad(train, (0, len(events) - len(train)), constant_values=float(train.min()))
    return (correlate(train - train.min(), events, mode="valid", method="fft") / weight)[:n_offsets]


def score_offsets(track: TrackCurves, video: VideoCurves, *, config: SyncConfig = SyncConfig()) -> dict[str, np.ndarray]:
    """Score every start offset of the video in the track.

    Returns arrays of shape ``[O]`` (O = number of grid offsets where the video fits; 1 when
    the track is shorter than the video): ``beat``, ``onset``, ``energy``, ``total``, and
    ``bar``, ``phrase`` and ``hit``, each when weighted.
    """
    n = len(video.events)
    beat, onset, energy = track.beat_train, track.onset_rank, track.energy
    if len(beat) < n:  # track shorter than the video: score the overlap at offset 0
        pad = n - len(beat)
        beat, onset, energy = (np.pad(x, (0, pad)) for x in (beat, onset, energy))
    weight = float(video.events.sum())
    if weight > 0:
        beat_s = correlate(beat, video.events, mode="valid", method="fft") / weight
        onset_s = correlate(onset, video.events, mode="valid", method="fft") / weight
    else:
        beat_s = onset_s = np.zeros(len(beat) - n + 1, np.float32)
    energy_s = _sliding_corr(video.motion, energy)
    total = config.beat_weight * beat_s + config.onset_weight * onset_s + config.energy_weight * energy_s
    scores = {"beat": beat_s, "onset": onset_s, "energy": energy_s}
    cuts = video.cuts if video.cuts is not None else np.zeros(n, np.float32)
    if config.bar_weight:
        start = np.zeros(n, np.float32)
        start[0] = 1.0  # the video's first frame: the offset itself
        scores["bar"] = _reward(track.bar_train, cuts + start, len(total))
        total = total + config.bar_weight * scores["bar"]
    if config.phrase_weight:
        scores["phrase"] = _reward(track.phrase_train, cuts, len(total))
        total = total + config.phrase_weight * scores["phrase"]
    if config.hit_weight:
        hit_s = _reward(track.hit_train, video.events, len(total))
        total = total + config.hit_weight * hit_s
        scores["hit"] = hit_s
    scores["total"] = total
    return scores


def best_offset(scores: dict[str, np.ndarray]) -> tuple[float, float, dict[str, float]]:
    """(offset_s, total score, parts) at the best-scoring offset."""
    i = int(np.argmax(scores["total"]))
    parts = {k: float(v[i]) for k, v in scores.items() if k != "total"}
    return i / GRID_HZ, float(scores["total"][i]), parts
