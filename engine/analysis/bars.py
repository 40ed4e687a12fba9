"""Bars and phrases on a given beat grid: downbeats from BeatNet's downbeat activation.

When a library's beats are librosa's (``RhythmConfig.beats = "librosa"``, or BeatNet's weights
are missing), the bar lines must lie on those beats. BeatNet's network (``analysis.beatnet``) gives a
downbeat probability at 50 fps; it is sampled at each beat (the maximum within
``window_s``), and the meter and the phase with the strongest contrast between the beats
counted as downbeats and the others is kept for the whole track. Chosen by measurement on the
ground-truth beat set (``bgmatch eval beats --tracker analysis``) against a per-beat Viterbi
over meters, onset/bass/chroma-change cues and the neural tracker's downbeats snapped to these
beats (see README "Hearing the beat"). Without BeatNet's weights the onset strength at the beats
stands in for the activation (meter 4). Pure functions over numpy arrays.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

DEFAULT_METER = 4
"""Beats per bar when there are too few beats to tell."""


@dataclass(frozen=True)
class BarConfig:
    """How bars and phrases are found on a beat grid."""

    meters: tuple[int, ...] = (3, 4)  # beats per bar considered
    window_s: float = 0.05  # half-width of the window an activation peak is looked for around a beat
    bars_per_phrase: int = 4  # phrases are counted in bars from each section start


@dataclass(frozen=True)
class Bars:
    """The bar grid of a track: downbeats are a subset of its beats."""

    downbeat_times_s: np.ndarray  # [D] float64, ascending
    meter: int  # beats per bar
    phase: int  # index of the first downbeat among the beats


def activation_version() -> str:
    """A fingerprint of the BeatNet weights the analysis uses ("none" without them), so that
    stored beats and bars are made again when the shipped weights change."""
    from bgmatch.assets import asset_path  # the path only: no torch

    weights = asset_path("beats", "beatnet.pt")
    if not weights.is_file():
        return "none"
    stat = weights.stat()
    return _file_digest(str(weights), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _file_digest(path: str, _size: int, _mtime_ns: int) -> str:
    """blake2b of a file's bytes (cached while its size and time stay the same)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=8)).hexdigest()


def strength_at_beats(beat_times_s: np.ndarray, curve: np.ndarray, *, rate_hz: float,
                      window_s: float = BarConfig.window_s) -> np.ndarray:
    """The maximum of ``curve`` (``[T]`` at ``rate_hz``) within ``±window_s`` of each beat, ``[B]``."""
    beats = np.asarray(beat_times_s, np.float64)
    curve = np.asarray(curve, np.float64)
    if len(beats) == 0 or len(curve) == 0:
        return np.zeros(len(beats))
    lo = np.clip(np.round((beats - window_s) * rate_hz).astype(int), 0, len(curve) - 1)
    hi = np.clip(np.round((beats + window_s) * rate_hz).astype(int), 0, len(curve) - 1)
    width = int((hi - lo).max()) + 1
    idx = np.minimum(lo[:, None] + np.arange(width)[None, :], hi[:, None])
    return curve[idx].max(axis=1)


def best_meter_phase(strength: np.ndarray, *, meters: tuple[int, ...] = BarConfig.meters) -> tuple[int, int]:
    """``(meter, phase)`` whose beats ``phase, phase + meter, …`` have the highest mean
    ``strength`` (``[B]``) above the mean of the other beats; ``(DEFAULT_METER, 0)`` with fewer
    than two bars of beats."""
    s = np.asarray(strength, np.float64)
    best, choice = -np.inf, (DEFAULT_METER, 0)
    for meter in meters:
        if len(s) < 2 * meter:
            continue
        for phase in range(meter):
            on = np.zeros(len(s), bool)
            on[phase::meter] = True
            contrast = float(s[on].mean() - s[~on].mean())
            if contrast > best:
                best, choice = contrast, (meter, phase)
    return choice


def bars_on_beats(beat_times_s: np.ndarray, strength: np.ndarray, *,
                  config: BarConfig = BarConfig()) -> Bars:
    """The bar grid on ``beat_times_s`` (``[B]``) from a downbeat ``strength`` per beat (``[B]``)."""
    beats = np.asarray(beat_times_s, np.float64)
    meter, phase = best_meter_phase(strength, meters=config.meters)
    return Bars(beats[phase::meter].copy(), meter, phase)


def phrase_starts(downbeat_times_s: np.ndarray, section_times_s: np.ndarray, *,
                  bars_per_phrase: int = BarConfig.bars_per_phrase) -> np.ndarray:
    """Phrase starts ``[P]`` (s): every ``bars_per_phrase``-th downbeat, counted afresh from the
    first downbeat and from each section start (a section start is snapped to its nearest
    downbeat)."""
    downs = np.asarray(downbeat_times_s, np.float64)
    if len(downs) == 0:
        return np.zeros(0)
    restart = np.zeros(len(downs), bool)
    restart[0] = True
    sections = np.asarray(section_times_s, np.float64)
    if len(sections):
        restart[np.abs(downs[None, :] - sections[:, None]).argmin(axis=1)] = True
    starts, count = [], 0
    for i in range(len(downs)):
        count = 0 if restart[i] else count + 1
        if count % bars_per_phrase == 0:
            starts.append(downs[i])
    return np.asarray(starts, np.float64)
