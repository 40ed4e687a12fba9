"""Music rhythm analysis: onset envelope, beats, tempo, energy, bars, phrases, sections and the
paper's rhythm tokens.

Pure functions over numpy arrays. Beats, downbeats and meter come from the neural tracker
(``analysis.neural_grid``, the default), which compiles nothing on a fresh installation, or with
``beats="librosa"`` from librosa's tracker (it compiles numba code for about 30 s the first time)
with downbeats sampled on its beats from BeatNet's activation (``analysis.bars``); onsets,
energy, chroma and MFCCs from ``analysis.spectra``; sections from a self-similarity novelty
(``analysis.sections``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from . import spectra
from .bars import DEFAULT_METER, BarConfig, Bars, bars_on_beats, phrase_starts, strength_at_beats
from .sections import SectionConfig, beat_sync_features, section_starts


#: Rhythm-token vocabulary sizes (paper §3): beat count, onset strength, beat interval.
BEAT_COUNT_CLASSES = 18
ONSET_STRENGTH_CLASSES = 49
BEAT_INTERVAL_CLASSES = 65  # 64 bins over 0–4 s, plus one class for "fewer than 2 beats"

BEAT_SOURCES = ("neural", "librosa")
"""Where a library's beats come from: the neural tracker's grid (beats, downbeats and meter
decoded from BeatNet's activations; librosa's when the weights are missing) or librosa's
tracker with downbeats sampled on its beats."""


@dataclass(frozen=True)
class RhythmConfig:
    """Parameters of the music analysis."""

    sr_hz: int = 22050
    hop_length: int = 512
    clip_s: float = 4.0
    beats: str = "neural"  # one of BEAT_SOURCES; "neural" compiles nothing on first use, "librosa" does (~30 s)
    tightness: float = 100.0  # librosa beat_track tightness
    bars: BarConfig = field(default_factory=BarConfig)
    sections: SectionConfig = field(default_factory=SectionConfig)

    def __post_init__(self) -> None:
        if self.beats not in BEAT_SOURCES:
            raise ConfigError(f"rhythm.beats must be one of {', '.join(BEAT_SOURCES)}, got {self.beats!r}")


def _no_times() -> np.ndarray:
    return np.zeros(0, np.float64)


@dataclass(frozen=True)
class MusicAnalysis:
    """Rhythm and energy of one track, on a frame grid of ``frame_rate_hz``; bars, phrases and
    sections as times (empty in records made before they were analysed)."""

    duration_s: float
    frame_rate_hz: float
    onset_envelope: np.ndarray  # [F] float32, onset strength per frame
    rms: np.ndarray  # [F] float32, RMS energy per frame
    beat_times_s: np.ndarray  # [B] float64
    tempo_bpm: float
    downbeat_times_s: np.ndarray = field(default_factory=_no_times, repr=False)  # [D] float64, a subset of the beats
    phrase_times_s: np.ndarray = field(default_factory=_no_times, repr=False)  # [P] float64, a subset of the downbeats
    section_times_s: np.ndarray = field(default_factory=_no_times, repr=False)  # [S] float64, section starts
    meter: int = DEFAULT_METER  # beats per bar

    def arrays(self) -> dict[str, np.ndarray]:
        """The analysis as named arrays (for storage)."""
        return {
            "onset_envelope": self.onset_envelope,
            "rms": self.rms,
            "beat_times_s": self.beat_times_s,
            "scalars": np.array([self.duration_s, self.frame_rate_hz, self.tempo_bpm], np.float64),
            "downbeat_times_s": np.asarray(self.downbeat_times_s, np.float64),
            "phrase_times_s": np.asarray(self.phrase_times_s, np.float64),
            "section_times_s": np.asarray(self.section_times_s, np.float64),
            "meter": np.array([self.meter], np.int64),
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> "MusicAnalysis":
        """Inverse of :meth:`arrays`; a record stored before bars were analysed loads with no
        downbeats, phrases or sections."""
        duration_s, frame_rate_hz, tempo_bpm = (float(x) for x in a["scalars"][:3])
        meter = a.get("meter")
        return cls(duration_s, frame_rate_hz, a["onset_envelope"], a["rms"], a["beat_times_s"], tempo_bpm,
                   downbeat_times_s=np.asarray(a.get("downbeat_times_s", _no_times()), np.float64),
                   phrase_times_s=np.asarray(a.get("phrase_times_s", _no_times()), np.float64),
                   section_times_s=np.asarray(a.get("section_times_s", _no_times()), np.float64),
                   meter=int(meter[0]) if meter is not None and len(meter) else DEFAULT_METER)


def analyze_music(y: np.ndarray, *, sr_hz: int, config: RhythmConfig = RhythmConfig()) -> MusicAnalysis:
    """Onset envelope, RMS energy, beats, tempo, bars, phrases and sections of a mono signal
    ``y`` of shape ``[n]``."""
    from . import neural_grid  # torch: imported only when a track is analysed

    hop = config.hop_length
    y = np.asarray(y, np.float32)
    # One power spectrogram for the onsets, the chroma and the MFCCs (analysis.spectra: librosa's
    # formulas without the librosa modules that compile numba code on first use).
    power = spectra.power_spectrogram(y, hop_length=hop)
    mel_db = spectra.power_to_db(spectra.mel_power(power, sr_hz=sr_hz))
    onset = spectra.onset_strength(mel_db, hop_length=hop).astype(np.float32)
    rms = spectra.rms(y, hop_length=hop)
    n = min(len(onset), len(rms))
    onset, rms = onset[:n], rms[:n]
    frame_rate_hz = sr_hz / hop
    chroma = spectra.chroma(power, sr_hz=sr_hz)
    activations = neural_grid.neural_activations(y, sr_hz=sr_hz)
    if config.beats == "neural" and activations is not None:
        track = neural_grid.decode_activations(activations, cues=(chroma, mel_db), sr_hz=sr_hz, hop_length=hop)
        beat_times, tempo_bpm = track.beat_times_s, track.tempo_bpm
        bars = Bars(track.downbeat_times_s, track.meter, _first_index(beat_times, track.downbeat_times_s))
    else:  # librosa's tracker (asked for, or no BeatNet weights), downbeats sampled on its beats
        beat_times, tempo_bpm = librosa_beats(onset, sr_hz=sr_hz, hop_length=hop, tightness=config.tightness)
        if activations is not None:
            curve, curve_hz = activations[:, 1], neural_grid.beatnet.FPS_HZ
            strength = strength_at_beats(beat_times, curve, rate_hz=curve_hz, window_s=config.bars.window_s)
            bar_config = config.bars
        else:  # no BeatNet weights: the onset strength at the beats stands in, meter 4
            strength = strength_at_beats(beat_times, onset, rate_hz=frame_rate_hz, window_s=config.bars.window_s)
            bar_config = BarConfig(meters=(DEFAULT_METER,))
        bars = bars_on_beats(beat_times, strength, config=bar_config)
    beat_frames = spectra.time_to_frames(beat_times, sr_hz=sr_hz, hop_length=hop)
    mfcc = spectra.mfcc(mel_db, n_mfcc=config.sections.n_mfcc)
    features = beat_sync_features(chroma, mfcc, beat_frames)
    sections = section_starts(features, beat_times, bars.downbeat_times_s, config=config.sections)
    phrases = phrase_starts(bars.downbeat_times_s, sections, bars_per_phrase=config.bars.bars_per_phrase)
    return MusicAnalysis(
        duration_s=len(y) / sr_hz,
        frame_rate_hz=frame_rate_hz,
        onset_envelope=onset,
        rms=rms,
        beat_times_s=np.asarray(beat_times, np.float64),
        tempo_bpm=float(tempo_bpm),
        downbeat_times_s=np.asarray(bars.downbeat_times_s, np.float64),
        phrase_times_s=phrases,
        section_times_s=sections,
        meter=bars.meter,
    )


def _first_index(beat_times_s: np.ndarray, downbeat_times_s: np.ndarray) -> int:
    """Index of the first downbeat among the beats (0 without downbeats)."""
    if len(downbeat_times_s) == 0 or len(beat_times_s) == 0:
        return 0
    return int(np.abs(np.asarray(beat_times_s) - downbeat_times_s[0]).argmin())


def librosa_beats(onset: np.ndarray, *, sr_hz: int, hop_length: int, tightness: float) -> tuple[np.ndarray, float]:
    """librosa's dynamic-programming beats on an onset envelope: ``(beat times [B], tempo)``."""
    import librosa.beat  # here: librosa's beat module compiles numba code the first time

    tempo, beat_frames = librosa.beat.beat_track(
        onset_envelope=onset, sr=sr_hz, hop_length=hop_length, tightness=tightness, units="frames"
    )
    times = np.asarray(beat_frames, np.float64) * hop_length / sr_hz  # librosa.frames_to_time
    return times, float(np.atleast_1d(tempo)[0])


def beat_tracker_is_cold(config: RhythmConfig = RhythmConfig()) -> bool:
    """Whether analysing a track with ``config`` will first compile librosa's beat tracker.

    Only librosa's tracker (asked for, or standing in when BeatNet's weights are missing)
    compiles, for tens of seconds the first time; numba caches the result as ``*.nbi`` index
    files next to librosa's modules.
    """
    from pathlib import Path

    from bgmatch.assets import asset_path  # the path only: no torch

    if config.beats == "neural" and asset_path("beats", "beatnet.pt").is_file():
        return False
    import librosa

    return not any(Path(librosa.__file__).parent.rglob("*.nbi"))


def warm_up(config: RhythmConfig = RhythmConfig()) -> None:
    """Analyse a short click track once, so what the analysis loads or compiles is ready."""
    sr_hz = config.sr_hz
    y = np.zeros(sr_hz * 3, np.float32)
    y[:: sr_hz // 2] = 1.0
    analyze_music(y, sr_hz=sr_hz, config=config)


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
