"""Where the bar starts: the phase of the neural tracker's bar grid, from what changes on a downbeat.

The bar-pointer DBN (:mod:`.downbeat_dbn`) places the downbeats where BeatNet's downbeat output
is highest. On real recordings that output often picks the wrong beat of the bar: against
madmom's downbeats on 64 recordings that the measuring sets do not use (Debian's drascula,
hyperrogue and nexuiz music), its downbeat F had a median of 0.26, and 0.65 with the best of the
bar's phases. Music marks its bar lines in two more ways an editor hears: the harmony changes
(chords change on the bar) and the bass plays. So the decoded grid keeps its beats, meter and
bar structure, and only its phase is chosen again, by a per-beat score: the downbeat output,
the chroma change into the beat and the low-band onset at the beat, each standardised over the
track, weighed by :class:`BarPhaseConfig`. The weights were chosen on those recordings (see
``assets/beats/MODEL.md``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import spectra
from .bars import strength_at_beats


@dataclass(frozen=True)
class BarPhaseConfig:
    """Weights of the cues that choose the bar phase (all 0: keep the decoder's phase)."""

    activation_weight: float = 0.25  # BeatNet's downbeat output at the beat
    harmony_weight: float = 1.0  # chroma change from the previous beat's span into this one's
    bass_weight: float = 0.5  # onset of the mel bands below ``bass_max_hz`` at the beat
    bass_max_hz: float = 200.0
    window_s: float = 0.04  # half-width of the window around a beat where the peaks are read

    @property
    def active(self) -> bool:
        return any(w != 0 for w in (self.activation_weight, self.harmony_weight, self.bass_weight))


def _standardised(x: np.ndarray) -> np.ndarray:
    std = float(x.std())
    return (x - x.mean()) / std if std > 1e-12 else np.zeros_like(x)


def cue_spectra(power: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """The chroma ``[12, F]`` and dB mel spectrogram ``[n_mels, F]`` the cues read, from a power
    spectrogram ``[bins, F]`` (``spectra.power_spectrogram``); the library's analysis has both."""
    return spectra.chroma(power, sr_hz=sr_hz), spectra.power_to_db(spectra.mel_power(power, sr_hz=sr_hz))


def _chroma_change(chroma: np.ndarray, beats: np.ndarray, *, sr_hz: int, hop_length: int) -> np.ndarray:
    """1 − cosine between the mean chroma of each beat's span (to the next beat) and the previous
    one's, ``[B]`` (0 for the first beat)."""
    n = chroma.shape[1]
    starts = np.clip(spectra.time_to_frames(beats, sr_hz=sr_hz, hop_length=hop_length), 0, n - 1)
    ends = np.maximum(np.r_[starts[1:], n], starts + 1)  # at least one frame, also for beats in one frame
    total = np.concatenate([np.zeros((12, 1)), np.cumsum(chroma, axis=1, dtype=np.float64)], axis=1)
    spans = (total[:, ends] - total[:, starts]) / (ends - starts)
    spans /= np.linalg.norm(spans, axis=0, keepdims=True) + 1e-9
    return np.r_[0.0, 1.0 - (spans[:, 1:] * spans[:, :-1]).sum(axis=0)]


def downbeat_score(beat_times_s: np.ndarray, *, chroma: np.ndarray, mel_db: np.ndarray, sr_hz: int, hop_length: int,
                   downbeat_activation: np.ndarray, activation_rate_hz: float,
                   config: BarPhaseConfig = BarPhaseConfig()) -> np.ndarray:
    """How much each beat ``[B]`` sounds like a downbeat, from the track's chroma and dB mel
    spectrogram at ``sr_hz`` / ``hop_length`` (:func:`cue_spectra`) and BeatNet's downbeat activation ``[T]``."""
    beats = np.asarray(beat_times_s, np.float64)
    score = np.zeros(len(beats))
    if len(beats) < 2 or chroma.shape[1] == 0:
        return score
    if config.harmony_weight:
        score += config.harmony_weight * _standardised(_chroma_change(chroma, beats, sr_hz=sr_hz,
                                                                      hop_length=hop_length))
    if config.bass_weight:
        low = spectra.mel_centre_hz(mel_db.shape[0], sr_hz) < config.bass_max_hz
        rise = np.maximum(0.0, np.diff(mel_db[low], axis=1)).mean(axis=0) if low.any() else np.zeros(0)
        bass = strength_at_beats(beats, np.r_[0.0, rise], rate_hz=sr_hz / hop_length, window_s=config.window_s)
        score += config.bass_weight * _standardised(bass)
    if config.activation_weight:
        act = strength_at_beats(beats, downbeat_activation, rate_hz=activation_rate_hz, window_s=config.window_s)
        score += config.activation_weight * _standardised(act)
    return score


def rephase(positions: np.ndarray, meter: int, score: np.ndarray) -> np.ndarray:
    """Bar positions ``[B]`` (1 = downbeat, … ``meter``) shifted so that the downbeats fall on the
    beats whose mean ``score`` is highest; the decoder's own phase wins ties."""
    positions = np.asarray(positions, np.int64)
    if meter < 2 or len(positions) < 2 * meter:
        return positions
    means = []
    for shift in range(meter):
        on = (positions - 1 + shift) % meter == 0
        means.append(float(score[on].mean()) if on.any() else -np.inf)
    best = int(np.argmax(means))  # argmax keeps the first (shift 0) on ties
    return (positions - 1 + best) % meter + 1
