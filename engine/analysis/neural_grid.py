"""The neural tracker's beat grid: BeatNet's activations decoded by a bar-pointer DBN, the bar
phase then chosen again from the harmony and the bass (:mod:`.bar_phase`).

Shared by ``analysis.beats`` (``track_beats``) and ``analysis.rhythm`` (a library's analysis on
``rhythm.beats = "neural"``), which decode the same activations.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
import os
from pathlib import Path
from typing import Literal

import numpy as np

from . import beatnet, spectra
from .bar_phase import BarPhaseConfig, cue_spectra, downbeat_score, rephase
from .downbeat_dbn import DownbeatDecoder

BeatMethod = Literal["neural", "librosa"]

LIBROSA_METER = 4
"""Beats per bar assumed for librosa's beats (it tracks no downbeats)."""

HOP_LENGTH = 512
"""Hop of the power spectrogram :func:`neural_track` reads the bar-phase cues from."""


@dataclass(frozen=True)
class BeatTrack:
    """Beat grid of one track."""

    beat_times_s: np.ndarray  # [B] float64, ascending
    downbeat_times_s: np.ndarray  # [D] float64, a subset of beat_times_s
    tempo_bpm: float  # 60 / median beat interval, over 8-beat spans (0.0 with fewer than two beats)
    meter: int  # beats per bar (4 when too few beats to tell)
    method: BeatMethod  # the tracker that produced this (after any fallback)


@functools.lru_cache(maxsize=1)
def _decoder() -> DownbeatDecoder:
    return DownbeatDecoder(fps_hz=beatnet.FPS_HZ, beats_per_bar=(2, 3, 4))


def neural_activations(y: np.ndarray, *, sr_hz: int,
                       weights: str | os.PathLike[str] | None = None) -> np.ndarray | None:
    """BeatNet's beat and downbeat probabilities ``[T, 2]`` at ``beatnet.FPS_HZ`` of mono ``y``,
    from ``weights`` (the shipped ones by default); None when that file is missing."""
    weights = Path(weights) if weights is not None else beatnet.default_weights_path()
    if not weights.is_file():
        return None
    model = beatnet.load_beatnet(weights)
    return beatnet.beat_activations(beatnet.beatnet_features(y, sr_hz=sr_hz), model)


def decode_activations(activations: np.ndarray, *, cues: tuple[np.ndarray, np.ndarray] | None = None,
                       sr_hz: int = 0, hop_length: int = HOP_LENGTH,
                       bar_phase: BarPhaseConfig = BarPhaseConfig()) -> BeatTrack:
    """The beat grid BeatNet's ``[T, 2]`` activations decode to (bars of 2, 3 or 4 beats).

    With ``cues``, the track's chroma and dB mel spectrogram at ``sr_hz`` and ``hop_length``
    (:func:`.bar_phase.cue_spectra`), the bar phase is chosen again by :func:`.bar_phase.rephase`
    with ``bar_phase``'s weights; without them the decoder's phase stays.
    """
    if cues is not None and sr_hz <= 0:
        raise ValueError("decode_activations: the cues need the sample rate they were made at (sr_hz)")
    beats, positions = _decoder().decode(activations)
    meter = int(positions.max()) if len(positions) and positions.max() >= 2 else LIBROSA_METER
    if cues is not None and bar_phase.active and len(beats):
        score = downbeat_score(beats, chroma=cues[0], mel_db=cues[1], sr_hz=sr_hz, hop_length=hop_length,
                               downbeat_activation=np.asarray(activations)[:, 1], activation_rate_hz=beatnet.FPS_HZ,
                               config=bar_phase)
        positions = rephase(positions, meter, score)
    return BeatTrack(
        beat_times_s=beats,
        downbeat_times_s=beats[positions == 1],
        tempo_bpm=_tempo_bpm(beats),
        meter=meter,
        method="neural",
    )


def neural_track(y: np.ndarray, *, sr_hz: int, weights: str | os.PathLike[str] | None = None,
                 bar_phase: BarPhaseConfig = BarPhaseConfig()) -> BeatTrack | None:
    """The neural tracker's grid of mono ``y``: activations from ``weights`` (the shipped ones by
    default), decoded, bar phase from ``bar_phase``'s cues; None when the weights file is missing."""
    activations = neural_activations(y, sr_hz=sr_hz, weights=weights)
    if activations is None:
        return None
    cues = (cue_spectra(spectra.power_spectrogram(np.asarray(y, np.float32), hop_length=HOP_LENGTH), sr_hz=sr_hz)
            if bar_phase.active else None)
    return decode_activations(activations, cues=cues, sr_hz=sr_hz, bar_phase=bar_phase)


def _tempo_bpm(beats: np.ndarray, *, span: int = 8) -> float:
    """60 / the median beat interval, each measured over ``span`` beats: the beats lie on the 50 fps
    grid, so single intervals are multiples of 20 ms (0.42 s reads 142.9 BPM); spans average that out
    and still follow tempo changes."""
    if len(beats) < 2:
        return 0.0
    n = min(span, len(beats) - 1)
    return float(60.0 * n / np.median(beats[n:] - beats[:-n]))
