"""Downbeat candidates on librosa's beat grid, scored with ``bgmatch eval beats``.

The library keeps librosa's beats (the shipped model was trained on them), so its downbeats
must be chosen among those beats. ``engine.analysis.bars`` does it with BeatNet's downbeat
activation and one meter (3 or 4) and phase per track; these are the alternatives it was
measured against, each a tracker ``(y, *, sr_hz) -> (beat_times_s, downbeat_times_s)``::

    bgmatch eval beats --tracker analysis \\
        --tracker bgmatch.training.beats.downbeats:onset_phase \\
        --tracker bgmatch.training.beats.downbeats:activation_phase_234 \\
        --tracker bgmatch.training.beats.downbeats:activation_viterbi \\
        --tracker bgmatch.training.beats.downbeats:cue_phase \\
        --tracker bgmatch.training.beats.downbeats:neural_snapped \\
        --tracker bgmatch.training.beats.downbeats:neural_beats_activation_phase

The per-track analysis (librosa's beats, BeatNet's activation, the neural tracker, the
spectral cues) is computed once per item and shared by the candidates.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import librosa
import numpy as np

from bgmatch.engine.analysis import beatnet
from bgmatch.engine.analysis.bars import best_meter_phase, strength_at_beats
from bgmatch.engine.analysis.beatgrid import snapped
from bgmatch.engine.analysis.beats import track_beats
from bgmatch.engine.analysis.rhythm import analyze_music

HOP = 512


@dataclass(frozen=True)
class _Item:
    beats: np.ndarray  # librosa's beats (s)
    activation: np.ndarray  # BeatNet's downbeat probability at its frame rate
    onset_at_beats: np.ndarray
    cues_at_beats: np.ndarray  # z(low-band flux) + z(chroma change) + z(onset) per beat
    neural_beats: np.ndarray
    neural_downbeats: np.ndarray


_audio: dict[str, tuple[np.ndarray, int]] = {}


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-8) if len(x) else x


@functools.lru_cache(maxsize=2)
def _analysed(key: str) -> _Item:
    y, sr_hz = _audio.pop(key)
    music = analyze_music(y, sr_hz=sr_hz)
    beats = music.beat_times_s
    activation = beatnet.beat_activations(beatnet.beatnet_features(y, sr_hz=sr_hz), beatnet.load_beatnet())[:, 1]
    rate = sr_hz / HOP
    onset = strength_at_beats(beats, music.onset_envelope, rate_hz=rate)
    power = np.abs(librosa.stft(y, n_fft=2048, hop_length=HOP)) ** 2
    mel = np.log1p(librosa.feature.melspectrogram(S=power, sr=sr_hz, n_mels=64, fmax=8000))
    low = np.concatenate([[0.0], np.maximum(np.diff(mel[:8], axis=1), 0).sum(axis=0)])
    bass = strength_at_beats(beats, low, rate_hz=rate)
    frames = np.clip(np.round(beats * rate).astype(int), 0, power.shape[1] - 1)
    chroma = librosa.util.sync(librosa.feature.chroma_stft(S=power, sr=sr_hz), frames, aggregate=np.median)
    change = np.linalg.norm(np.diff(chroma, axis=1), axis=0)[: len(beats)]  # column k+1 starts at beat k
    change = np.pad(change, (0, len(beats) - len(change)))
    neural = track_beats(y, sr_hz=sr_hz)
    return _Item(beats, activation, onset, _z(bass) + _z(change) + _z(onset), neural.beat_times_s,
                 neural.downbeat_times_s)


def _item(y: np.ndarray, sr_hz: int) -> _Item:
    y = np.ascontiguousarray(y, np.float32)
    key = hashlib.sha1(y.tobytes()).hexdigest() + f"@{sr_hz}"
    _audio[key] = (y, sr_hz)
    item = _analysed(key)
    _audio.pop(key, None)
    return item


def _phase(beats: np.ndarray, strength: np.ndarray, meters: tuple[int, ...]) -> np.ndarray:
    meter, phase = best_meter_phase(strength, meters=meters)
    return beats[phase::meter]


def _activation_at(item: _Item, beats: np.ndarray) -> np.ndarray:
    return strength_at_beats(beats, item.activation, rate_hz=beatnet.FPS_HZ)


def onset_phase(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """Every 4th beat, at the phase with the strongest onsets (the library's old fallback)."""
    item = _item(y, sr_hz)
    return item.beats, _phase(item.beats, item.onset_at_beats, (4,))


def activation_phase_234(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """BeatNet's downbeat activation at the beats, best meter of 2, 3, 4 and phase."""
    item = _item(y, sr_hz)
    return item.beats, _phase(item.beats, _activation_at(item, item.beats), (2, 3, 4))


def _viterbi(strength: np.ndarray, meters: tuple[int, ...], switch: float) -> np.ndarray:
    """Downbeat mask ``[B]``: the best path over (meter, position) states that advance one
    position a beat, changing meter or phase with probability ``switch``; a downbeat emits the
    activation ``s``, another beat ``1 - s``."""
    states = [(m, p) for m in meters for p in range(m)]
    n, k = len(strength), len(states)
    if n == 0:
        return np.zeros(0, bool)
    s = np.clip(strength, 1e-4, 1 - 1e-4)
    is_down = np.array([p == 0 for _, p in states])
    emit = np.where(is_down[None, :], np.log(s)[:, None], np.log(1 - s)[:, None])  # [n, k]
    trans = np.full((k, k), np.log(switch / k))
    for i, (m, p) in enumerate(states):
        trans[i, states.index((m, (p + 1) % m))] = np.log(1 - switch)
    score, back = emit[0].copy(), np.zeros((n, k), int)
    for t in range(1, n):
        cand = score[:, None] + trans
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + emit[t]
    path = np.zeros(n, int)
    path[-1] = int(score.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return is_down[path]


def activation_viterbi(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """BeatNet's activation at the beats decoded per beat (meters 2, 3, 4; switch 1e-3)."""
    item = _item(y, sr_hz)
    return item.beats, item.beats[_viterbi(_activation_at(item, item.beats), (2, 3, 4), 1e-3)]


def cue_phase(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """Beat-synchronous bass flux + chroma change + onset, best meter of 3, 4 and phase."""
    item = _item(y, sr_hz)
    return item.beats, _phase(item.beats, item.cues_at_beats, (3, 4))


def neural_snapped(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """The neural tracker's downbeats moved to the nearest librosa beat within half a beat."""
    item = _item(y, sr_hz)
    beats, downs = item.beats, item.neural_downbeats
    if len(beats) < 2 or len(downs) == 0:
        return beats, np.zeros(0)
    near = snapped(downs, beats)
    period = float(np.median(np.diff(beats)))
    keep = np.abs(near[:, None] - downs[None, :]).min(axis=1) < period / 2
    return beats, near[keep]


def neural_beats_activation_phase(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """The neural tracker's beats with the library's downbeat rule (activation, meters 3, 4):
    what the library would hear if it switched beat trackers."""
    item = _item(y, sr_hz)
    return item.neural_beats, _phase(item.neural_beats, _activation_at(item, item.neural_beats), (3, 4))
