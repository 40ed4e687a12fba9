"""How media become model inputs: log-mel clips and rhythm tokens of music, frame clips, flow
tokens and periodicity of video. Training and retrieval both use these functions, so a model sees
the same inputs at training and at retrieval time. No torch model here; no Qt.

Music is cut into ``clip_s`` clips; a *window* at offset ``o`` is the clips starting at
``o, o + clip_s, o + 2·clip_s, …`` and is what the matching model compares with the video's
consecutive clips.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..analysis import media
from ..analysis.features import MelConfig, frame_clips, log_mel
from ..analysis.motion import MotionConfig, VideoAnalysis, analyze_frames, flow_tokens
from ..analysis.periodicity import video_periodicity
from ..analysis.rhythm import MusicAnalysis, RhythmConfig, analyze_music, rhythm_tokens
from ..analysis.spectra import resample
from ..errors import ConfigError, MediaError

_FLOOR = float(np.log(1e-6))  # log-mel value of silence / padding (as features.mel_clips)


@dataclass(frozen=True)
class FeatureConfig:
    """How media become model inputs (stored in every bundle and prepared data set).

    Music: log-mel at ``sr_hz`` (``n_mels`` bins, ``win_s``/``hop_s`` frames) in ``clip_s``
    clips; rhythm analysed at ``rhythm_sr_hz``. Video: grayscale frames decoded at
    ``video_fps`` and ``video_width_px`` wide (for optical flow), ``frames_per_clip`` frames per
    clip resized to ``frame_px`` squares.
    """

    sr_hz: int = 16000
    n_mels: int = 80
    win_s: float = 0.025
    hop_s: float = 0.010
    clip_s: float = 4.0
    rhythm_sr_hz: int = 22050
    rhythm_hop_length: int = 512
    frames_per_clip: int = 4
    frame_px: int = 128
    video_fps: float = 10.0
    video_width_px: int = 160
    flow: Literal["dis-ultrafast", "dis-fast", "farneback"] = "dis-ultrafast"

    def __post_init__(self) -> None:
        for name in ("sr_hz", "n_mels", "win_s", "hop_s", "clip_s", "rhythm_sr_hz", "rhythm_hop_length",
                     "frames_per_clip", "frame_px", "video_fps", "video_width_px"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"FeatureConfig: {name} must be > 0, got {getattr(self, name)!r}")

    def mel(self) -> MelConfig:
        return MelConfig(sr_hz=self.sr_hz, n_mels=self.n_mels, win_s=self.win_s, hop_s=self.hop_s,
                         clip_s=self.clip_s)

    def rhythm(self) -> RhythmConfig:
        return RhythmConfig(sr_hz=self.rhythm_sr_hz, hop_length=self.rhythm_hop_length, clip_s=self.clip_s)

    def motion(self) -> MotionConfig:
        return MotionConfig(fps=self.video_fps, width_px=self.video_width_px, flow=self.flow, clip_s=self.clip_s)

    @property
    def mel_frames_per_clip(self) -> int:
        return self.mel().frames_per_clip



@dataclass
class MusicInputs:
    """Decoded music: its whole log-mel and its rhythm analysis."""

    log_mel: np.ndarray  # [T, n_mels] float32
    analysis: MusicAnalysis
    duration_s: float


@dataclass
class VideoInputs:
    """Decoded video as model inputs: consecutive clips of frames, flow tokens and periodicity."""

    frames: np.ndarray  # [n_clips, frames_per_clip, frame_px, frame_px] uint8
    flow_tokens: np.ndarray  # [n_clips] int64
    duration_s: float
    periodicity: np.ndarray  # [n_clips, PERIODICITY_DIM] float32
    motion: VideoAnalysis  # what the tokens and the periodicity were computed from


def music_inputs_from_wave(y: np.ndarray, *, sr_hz: int, config: FeatureConfig = FeatureConfig(),
                           mel_y: np.ndarray | None = None) -> MusicInputs:
    """Log-mel [T, n_mels] and rhythm analysis of mono audio ``y`` [n] sampled at ``sr_hz``.

    ``mel_y``: the same audio already at ``config.sr_hz`` (else ``y`` is resampled for the log-mel).
    """
    y = np.asarray(y, np.float32)
    rhythm_y = y if sr_hz == config.rhythm_sr_hz else resample(y, orig_sr=sr_hz, target_sr=config.rhythm_sr_hz)
    if mel_y is None:
        mel_y = y if sr_hz == config.sr_hz else resample(y, orig_sr=sr_hz, target_sr=config.sr_hz)
    analysis = analyze_music(rhythm_y, sr_hz=config.rhythm_sr_hz, config=config.rhythm())
    return MusicInputs(log_mel(mel_y, config=config.mel()).numpy(), analysis, len(y) / sr_hz)


def decode_music(path: str | os.PathLike[str], *, config: FeatureConfig = FeatureConfig(),
                 max_duration_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The audio of ``path`` decoded at the rhythm rate and at the log-mel rate (FFmpeg
    resamples faster than librosa): (y [n] at ``rhythm_sr_hz``, mel_y [m] at ``sr_hz``)."""
    y = media.decode_audio(path, sr_hz=config.rhythm_sr_hz, max_duration_s=max_duration_s)
    if len(y) < config.rhythm_sr_hz // 2:
        raise MediaError(path, f"audio is too short ({len(y) / config.rhythm_sr_hz:.2f} s)")
    mel_y = y if config.sr_hz == config.rhythm_sr_hz else media.decode_audio(
        path, sr_hz=config.sr_hz, max_duration_s=max_duration_s)
    return y, mel_y


def music_inputs(path: str | os.PathLike[str], *, config: FeatureConfig = FeatureConfig(),
                 max_duration_s: float | None = None) -> MusicInputs:
    """Decode the audio of ``path`` and return :class:`MusicInputs` (``MediaError`` if bad)."""
    y, mel_y = decode_music(path, config=config, max_duration_s=max_duration_s)
    return music_inputs_from_wave(y, sr_hz=config.rhythm_sr_hz, config=config, mel_y=mel_y)


def video_inputs_from_frames(frames: np.ndarray, times_s: np.ndarray, *, duration_s: float,
                             config: FeatureConfig = FeatureConfig()) -> VideoInputs:
    """Frame clips, flow tokens and periodicity from grayscale frames [T, H, W] uint8 at ``times_s`` [T]."""
    n_clips = max(1, int(np.ceil(duration_s / config.clip_s - 1e-6)))
    clips = frame_clips(frames, times_s, clip_s=config.clip_s, frames_per_clip=config.frames_per_clip,
                        size_px=config.frame_px, max_clips=n_clips)
    motion = analyze_frames(frames, times_s, duration_s=duration_s, config=config.motion())
    tokens = flow_tokens(motion, clip_s=config.clip_s, n_clips=clips.shape[0])
    pixels = torch.round(clips * 255.0).to(torch.uint8).numpy()
    periodicity = video_periodicity(motion, clips.shape[0], clip_s=config.clip_s)
    return VideoInputs(pixels, tokens, duration_s, periodicity, motion)


def subsample_frames(frames: np.ndarray, times_s: np.ndarray, *, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """The first of the frames [T, H, W] at ``times_s`` [T] in each slot of the ``1/fps`` grid, so
    the library's analysis-rate frames serve the model too (within one analysis frame of what
    decoding at ``fps`` would give)."""
    period = 1.0 / fps
    keep, next_t = [], 0.0
    for i, t in enumerate(np.asarray(times_s, np.float64)):
        if t + 1e-3 >= next_t:
            keep.append(i)
            next_t = (np.floor(t / period + 1e-3) + 1) * period
    return frames[keep], np.asarray(times_s)[keep]


def video_inputs(path: str | os.PathLike[str], *, config: FeatureConfig = FeatureConfig(),
                 max_duration_s: float | None = None) -> VideoInputs:
    """Decode the picture of ``path`` at the analysis rate and return :class:`VideoInputs`."""
    decoded = media.decode_frames(path, fps=config.video_fps, width_px=max(config.video_width_px, 16),
                                  max_duration_s=max_duration_s)
    duration = decoded.duration_s if max_duration_s is None else min(decoded.duration_s, max_duration_s)
    return video_inputs_from_frames(decoded.frames, decoded.times_s, duration_s=duration, config=config)


def music_clip_inputs(inputs: MusicInputs, starts_s: np.ndarray, *, config: FeatureConfig = FeatureConfig()
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Log-mel clips [k, F, n_mels] (float32) and rhythm tokens [k, 3] of the clips starting at
    ``starts_s`` [k]. Frames past the end hold the log-mel floor (as ``features.mel_clips``)."""
    frames = config.mel_frames_per_clip
    hop = config.hop_s
    first = np.round(np.asarray(starts_s, np.float64) / hop).astype(np.int64)
    index = first[:, None] + np.arange(frames)[None, :]
    padded = np.concatenate([inputs.log_mel, np.full((frames, inputs.log_mel.shape[1]), _FLOOR, np.float32)])
    clips = padded[np.clip(index, 0, len(padded) - 1)]
    clips[index >= len(inputs.log_mel)] = _FLOOR
    return clips, rhythm_tokens_at(inputs.analysis, starts_s, clip_s=config.clip_s)


def rhythm_tokens_at(analysis: MusicAnalysis, starts_s: np.ndarray, *, clip_s: float) -> np.ndarray:
    """The paper's rhythm tokens [k, 3] of ``clip_s`` clips starting at any ``starts_s`` [k].

    ``rhythm.rhythm_tokens`` handles clips at multiples of ``clip_s``; other phases use a copy
    of the analysis shifted in time (the onset envelope rotated, so its mean, which the onset
    strength is relative to, is unchanged).
    """
    starts = np.asarray(starts_s, np.float64)
    out = np.zeros((len(starts), 3), np.int64)
    phases = np.round(np.mod(starts, clip_s), 6)
    for phase in np.unique(phases):
        shift = int(round(phase * analysis.frame_rate_hz))
        shifted = dataclasses.replace(
            analysis, beat_times_s=analysis.beat_times_s - phase,
            onset_envelope=np.roll(analysis.onset_envelope, -shift),
            duration_s=max(analysis.duration_s - phase, 0.0),
        )
        sel = phases == phase
        clip_index = np.round((starts[sel] - phase) / clip_s).astype(np.int64)
        tokens = rhythm_tokens(shifted, clip_s=clip_s, n_clips=int(clip_index.max()) + 1)
        out[sel] = tokens[clip_index]
    return out
