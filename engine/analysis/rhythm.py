"""Music rhythm analysis: onset envelope, beats, tempo, energy and the paper's rhythm tokens.

Pure functions over numpy arrays; beat tracking and onset strength come from librosa.
"""
from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

#: Rhythm-token vocabulary sizes (paper §3): beat count, onset strength, beat interval.
BEAT_COUNT_CLASSES = 18
ONSET_STRENGTH_CLASSES = 49
BEAT_INTERVAL_CLASSES = 65  # 64 bins over 0–4 s, plus one class for "fewer than 2 beats"


@dataclass(frozen=True)
class RhythmConfig:
    """Parameters of the music analysis."""

    sr_hz: int = 22050
    hop_length: int = 512
    clip_s: float = 4.0
    tightness: float = 100.0  # librosa beat_track tightness


@dataclass(frozen=True)
class MusicAnalysis:
    """Rhythm and energy of one track, on a frame grid of ``frame_rate_hz``."""

    duration_s: float
    frame_rate_hz: float
    onset_envelope: np.ndarray  # [F] float32, onset strength per frame
    rms: np.ndarray  # [F] float32, RMS energy per frame
    beat_times_s: np.ndarray  # [B] float64
    tempo_bpm: float

    def arrays(self) -> dict[str, np.ndarray]:
        """The analysis as named arrays (for storage)."""
        return {
            "onset_envelope": self.onset_envelope,
            "rms": self.rms,
            "beat_times_s": self.beat_times_s,
            "scalars": np.array([self.duration_s, self.frame_rate_hz, self.tempo_bpm], np.float64),
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> "MusicAnalysis":
        """Inverse of :meth:`arrays`."""
        duration_s, frame_rate_hz, tempo_bpm = (float(x) for x in a["scalars"])
        return cls(duration_s, frame_rate_hz, a["onset_envelope"], a["rms"], a["beat_times_s"], tempo_bpm)


def analyze_music(y: np.ndarray, *, sr_hz: int, config: RhythmConfig = RhythmConfig()) -> MusicAnalysis:
    """Onset envelope, RMS energy, beats and tempo of a mono signal ``y`` of shape ``[n]``."""
    hop = config.hop_length
    onset = librosa.onset.onset_strength(y=y, sr=sr_hz, hop_length=hop).astype(np.float32)
    rms = librosa.feature.rms(y=y, hop_length=hop)[0].astype(np.float32)
    n = min(len(onset), len(rms))
    onset, rms = onset[:n], rms[:n]
    tempo, beat_frames = librosa.beat.beat_track(
        onset_envelope=onset, sr=sr_hz, hop_length=hop, tightness=config.tightness, units="frames"
    )
    tempo_bpm = float(np.atleast_1d(tempo)[0])
    beat_times = librosa.frames_to_time(beat_frames, sr=sr_hz, hop_length=hop).astype(np.float64)
    return MusicAnalysis(
        duration_s=len(y) / sr_hz,
        frame_rate_hz=sr_hz / hop,
        onset_envelope=onset,
        rms=rms,
        beat_times_s=beat_times,
        tempo_bpm=tempo_bpm,
    )


def beat_tracker_is_cold() -> bool:
    """Whether librosa's numba-compiled beat tracker has no on-disk cache yet.

    The first beat tracking in a fresh environment compiles for tens of seconds; numba caches
    the result as ``*.nbi`` index files next to librosa's modules.
    """
    from pathlib import Path

    return not any(Path(librosa.__file__).parent.rglob("*.nbi"))


def warm_up() -> None:
    """Run the beat tracker once on a short click track, so its numba code is compiled."""
    sr_hz = 22050
    y = np.zeros(sr_hz * 3, np.float32)
    y[:: sr_hz // 2] = 1.0
    analyze_music(y, sr_hz=sr_hz)


def rhythm_tokens(analysis: MusicAnalysis, *, clip_s: float = 4.0, n_clips: int | None = None) -> np.ndarray:
    """The paper's per-clip rhythm tokens, shape ``[n_clips, 3]`` (int64).

    Columns: beat count in the clip (0..17), mean onset strength at the clip's beats relative to
    the track's mean onset strength (49 bins over 0–4), and mean beat interval (64 bins over
    0–4 s; class 64 when the clip has fewer than two beats).
    """
    if n_clips is None:
        n_clips = max(1, int(np.ceil(analysis.duration_s / clip_s)))
    env = analysis.onset_envelope
    mean_env = float(env.mean()) + 1e-8
    beats = analysis.beat_times_s
    beat_frames = np.clip(np.round(beats * analysis.frame_rate_hz).astype(int), 0, max(len(env) - 1, 0))
    tokens = np.zeros((n_clips, 3), np.int64)
    for i in range(n_clips):
        sel = (beats >= i * clip_s) & (beats < (i + 1) * clip_s)
        count = int(sel.sum())
        tokens[i, 0] = min(count, BEAT_COUNT_CLASSES - 1)
        if count and len(env):
            strength = float(env[beat_frames[sel]].mean()) / mean_env
            tokens[i, 1] = min(int(strength / 4.0 * (ONSET_STRENGTH_CLASSES - 1)), ONSET_STRENGTH_CLASSES - 1)
        if count >= 2:
            interval = float(np.diff(beats[sel]).mean())
            tokens[i, 2] = min(int(round(interval / 4.0 * 64)), 63)
        else:
            tokens[i, 2] = BEAT_INTERVAL_CLASSES - 1
    return tokens
