"""Beats and downbeats of a music signal: BeatNet's CRNN + a bar-pointer DBN, or librosa.

``track_beats(y, sr_hz=...)`` is the one entry point. The neural default never touches
librosa's numba-compiled beat tracker, so a fresh installation does not compile on first use;
librosa's tracker stays available as ``method="librosa"`` and as the fallback when the weights
are missing. The library's analysis (``engine/analysis/rhythm.py``) decodes the same activations
(:func:`neural_activations`, :func:`decode_activations`).
"""
from __future__ import annotations

import warnings

import numpy as np

from . import beatnet
from .neural_grid import LIBROSA_METER, BeatMethod, BeatTrack, decode_activations, neural_activations, neural_track

__all__ = ["LIBROSA_METER", "BeatMethod", "BeatTrack", "decode_activations", "neural_activations", "neural_track",
           "track_beats"]

_warned_missing: set[str] = set()


def track_beats(y: np.ndarray, *, sr_hz: int, method: BeatMethod = "neural") -> BeatTrack:
    """Beats and downbeats of mono audio ``y`` (``[n]`` float, any rate ``sr_hz``).

    ``"neural"``: BeatNet activations at 50 fps decoded by a DBN over bars of 2, 3 and 4 beats, the
    bar phase chosen again from the downbeat output, the harmony and the bass (:mod:`.bar_phase`).
    When its weights file is missing it warns once (per path) and falls back to ``"librosa"``:
    librosa's beat tracker as ``analysis.rhythm`` runs it, with downbeats every ``LIBROSA_METER``
    beats at the phase whose beats have the strongest onsets.
    """
    if method not in ("neural", "librosa"):
        raise ValueError(f"unknown beat tracking method {method!r}; use 'neural' or 'librosa'")
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"track_beats needs mono audio of shape [n], got {y.shape}")
    if method == "neural":
        track = neural_track(y, sr_hz=sr_hz)
        if track is not None:
            return track
        weights = beatnet.default_weights_path()
        if str(weights) not in _warned_missing:
            _warned_missing.add(str(weights))
            warnings.warn(
                f"{weights}: BeatNet weights missing; tracking beats with librosa instead",
                RuntimeWarning,
                stacklevel=2,
            )
    return _track_librosa(y, sr_hz=sr_hz)


def _track_librosa(y: np.ndarray, *, sr_hz: int) -> BeatTrack:
    from . import spectra
    from .rhythm import RhythmConfig, librosa_beats  # the fallback only

    config = RhythmConfig(beats="librosa")
    onset = spectra.onset_strength(
        spectra.power_to_db(spectra.mel_power(spectra.power_spectrogram(y, hop_length=config.hop_length),
                                              sr_hz=sr_hz)),
        hop_length=config.hop_length,
    )
    beats, tempo_bpm = librosa_beats(onset, sr_hz=sr_hz, hop_length=config.hop_length, tightness=config.tightness)
    frames = np.clip(np.round(beats * sr_hz / config.hop_length).astype(int), 0, len(onset) - 1)
    strength = onset[frames] if len(beats) else np.zeros(0)
    phases = [float(strength[p::LIBROSA_METER].mean()) if len(strength[p::LIBROSA_METER]) else -1.0
              for p in range(LIBROSA_METER)]
    phase = int(np.argmax(phases))
    return BeatTrack(
        beat_times_s=beats,
        downbeat_times_s=beats[phase::LIBROSA_METER],
        tempo_bpm=tempo_bpm,
        meter=LIBROSA_METER,
        method="librosa",
    )
