"""Learned embeddings from a trained model bundle: clip features of music and video, and the
learned similarity of a video to a track at a start offset.

A *bundle* is a folder written by ``bgmatch train``::

    bundle.json   {"format": "bgmatch-bundle", "format_version": 1, "features": {...},
                   "score": {...}, "models": {"music": "music.pt", ...}, "extra": {...}}
    music.pt      MusicEncoder checkpoint   (engine.models.save_model)
    video.pt      VideoEncoder checkpoint
    matching.pt   MatchingModel checkpoint

The feature extraction here (:func:`music_inputs`, :func:`video_inputs`) is the one training
uses, so a model sees the same inputs at training and at retrieval time. Devices follow
``engine.device.pick_device`` (CUDA when present, ``device`` or ``$BGMATCH_DEVICE`` override). Music is cut into
``clip_s`` clips starting every ``hop_s`` over the whole track; a *window* at offset ``o`` is the
clips starting at ``o, o + clip_s, o + 2·clip_s, …`` and is what the matching model compares
with the video's consecutive clips. No Qt; CUDA is used when available unless ``device`` says.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import librosa
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..analysis import media
from .device import pick_device
from ..errors import ConfigError, MediaError, ModelError
from ..analysis.features import MelConfig, frame_clips, log_mel
from .modelchoice import BUNDLE_MANIFEST
from .models import MatchingModel, MusicEncoder, VideoEncoder, config_from_dict, load_model, save_model
from ..analysis.motion import MotionConfig, VideoAnalysis, analyze_frames, flow_tokens
from ..analysis.periodicity import music_periodicity, video_periodicity
from ..analysis.rhythm import MusicAnalysis, RhythmConfig, analyze_music, rhythm_tokens

BUNDLE_FORMAT = "bgmatch-bundle"
BUNDLE_FORMAT_VERSION = 1
_MODEL_FILES = {"music": "music.pt", "video": "video.pt", "matching": "matching.pt"}
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


@dataclass(frozen=True)
class ScoreConfig:
    """Learned score of a (video, music window) pair (paper: 0.6·cos + 0.4·cos in text space).

    ``pooled_weight`` weighs the cosine of the pooled shared-space embeddings, ``text_weight``
    the cosine of both sides projected to the tag-text space (never the query's true tags), and
    ``aligned_weight`` the mean cosine of temporally aligned clips (sensitive to the offset).
    """

    pooled_weight: float = 0.6
    text_weight: float = 0.4
    aligned_weight: float = 0.0
    fusion_weight: float = 0.0
    """Weight of this score, standardised over the candidates, when fused with the analysis-only
    synchrony score (``engine.fusion``); chosen on a validation split by ``bgmatch train``."""


# -- feature extraction ------------------------------------------------------------------------
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
    rhythm_y = y if sr_hz == config.rhythm_sr_hz else librosa.resample(y, orig_sr=sr_hz, target_sr=config.rhythm_sr_hz)
    if mel_y is None:
        mel_y = y if sr_hz == config.sr_hz else librosa.resample(y, orig_sr=sr_hz, target_sr=config.sr_hz)
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


# -- bundle ------------------------------------------------------------------------------------
WINDOW_CACHE_ENTRIES = 4096
"""(track, clip count) window sets a bundle keeps encoded (a few hundred kB each)."""


def _select(windows: "EncodedWindows", rows: np.ndarray) -> "EncodedWindows":
    index = torch.from_numpy(rows).to(windows.pooled.device)
    return EncodedWindows(windows.offsets_s[rows], windows.pooled[index], windows.text[index],
                          windows.clips[index], windows.mask[index])

def save_bundle(folder: str | os.PathLike[str], *, music: MusicEncoder, video: VideoEncoder,
                matching: MatchingModel, features: FeatureConfig, score: ScoreConfig = ScoreConfig(),
                extra: dict[str, Any] | None = None) -> Path:
    """Write a bundle folder (three checkpoints, then ``bundle.json`` last); return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, model in (("music", music), ("video", video), ("matching", matching)):
        save_model(folder / _MODEL_FILES[kind], model, model.config, kind=kind)
    manifest = {
        "format": BUNDLE_FORMAT, "format_version": BUNDLE_FORMAT_VERSION,
        "features": dataclasses.asdict(features), "score": dataclasses.asdict(score),
        "models": dict(_MODEL_FILES), "extra": extra or {},
    }
    temporary = folder / f".{BUNDLE_MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(temporary, folder / BUNDLE_MANIFEST)
    return folder


def set_fusion_weight(folder: str | os.PathLike[str], weight: float) -> None:
    """Record the fusion weight chosen for a bundle in its manifest (atomically)."""
    manifest_path = Path(folder) / BUNDLE_MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as error:
        raise ModelError(f"{manifest_path}: unreadable bundle manifest ({error})") from None
    manifest.setdefault("score", {})["fusion_weight"] = float(weight)
    temporary = manifest_path.with_name(f".{BUNDLE_MANIFEST}.tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(temporary, manifest_path)


@dataclass
class MusicEmbedding:
    """Encoder features of a whole track's clips, starting every ``hop_s`` seconds."""

    clip_features: np.ndarray  # [n_positions, music_dim] float32
    rhythm_tokens: np.ndarray  # [n_positions, 3] int64
    starts_s: np.ndarray  # [n_positions] float64
    duration_s: float
    periodicity: np.ndarray  # [n_positions, PERIODICITY_DIM] float32 ([n, 0] when stored without)

    def arrays(self) -> dict[str, np.ndarray]:
        """Named arrays for a store (features as float16)."""
        return {"clip_features": self.clip_features.astype(np.float16), "rhythm_tokens": self.rhythm_tokens,
                "starts_s": self.starts_s, "duration_s": np.array([self.duration_s]),
                "periodicity": self.periodicity.astype(np.float16)}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> "MusicEmbedding":
        n = len(a["starts_s"])
        periodicity = a["periodicity"].astype(np.float32) if "periodicity" in a else np.zeros((n, 0), np.float32)
        return cls(a["clip_features"].astype(np.float32), a["rhythm_tokens"], a["starts_s"], float(a["duration_s"][0]),
                   periodicity)


@dataclass
class VideoEmbedding:
    """Encoder features of a video's consecutive clips."""

    clip_features: np.ndarray  # [n_clips, video_dim] float32
    flow_tokens: np.ndarray  # [n_clips] int64
    duration_s: float
    periodicity: np.ndarray  # [n_clips, PERIODICITY_DIM] float32


@dataclass
class EncodedVideo:
    """A video in the shared space: pooled [dim] (unit), text [text_dim] (unit), clips [n, dim]."""

    pooled: Tensor
    text: Tensor
    clips: Tensor


@dataclass
class EncodedWindows:
    """Music windows in the shared space, one per offset: pooled [k, dim] (unit), text
    [k, text_dim] (unit), clips [k, n, dim] and their mask [k, n] (False past the track's end)."""

    offsets_s: np.ndarray
    pooled: Tensor
    text: Tensor
    clips: Tensor
    mask: Tensor


class ModelBundle:
    """Trained music/video encoders and matching model, loaded on one device, in eval mode."""

    def __init__(self, music: MusicEncoder, video: VideoEncoder, matching: MatchingModel, *,
                 features: FeatureConfig, score: ScoreConfig = ScoreConfig(), device: str | torch.device | None = None,
                 version: str = "", music_version: str = "", extra: dict[str, Any] | None = None) -> None:
        self.device = pick_device(device)
        self.music = music.to(self.device).eval()
        self.video = video.to(self.device).eval()
        self.matching = matching.to(self.device).eval()
        self.features = features
        self.score_config = score
        self.version = version
        """Identity of the features and all three networks (not the score settings)."""
        self.music_version = music_version or version
        """Identity of what stored music embeddings depend on: the features and the music encoder
        (bundles trained from the same pretrained encoders share a library's embeddings)."""
        self.extra = extra or {}
        self._windows: OrderedDict[tuple[str, int], tuple[EncodedWindows, float, float]] = OrderedDict()

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, device: str | torch.device | None = None) -> "ModelBundle":
        """Load a bundle folder; ``ModelError`` names the file and the problem."""
        folder = Path(folder)
        manifest_path = folder / BUNDLE_MANIFEST
        try:
            manifest = json.loads(manifest_path.read_text())
        except FileNotFoundError:
            raise ModelError(f"{folder}: not a model bundle (no {BUNDLE_MANIFEST})") from None
        except (OSError, ValueError) as error:
            raise ModelError(f"{manifest_path}: unreadable bundle manifest ({error})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
            raise ModelError(f"{manifest_path}: not a bgmatch bundle manifest")
        if manifest.get("format_version", 0) > BUNDLE_FORMAT_VERSION:
            raise ModelError(f"{manifest_path}: bundle format {manifest['format_version']} is newer than this bgmatch")
        try:
            features = config_from_dict(FeatureConfig, manifest.get("features", {}))
            score = config_from_dict(ScoreConfig, manifest.get("score", {}))
        except ConfigError as error:
            raise ModelError(f"{manifest_path}: {error}") from None
        target = pick_device(device)
        models = {}
        # Versions name what embeddings depend on (features, weights), not the score settings, so
        # tuning the fusion weight keeps a library's stored embeddings.
        digest = hashlib.blake2b(json.dumps(manifest.get("features", {}), sort_keys=True).encode(), digest_size=8)
        music_version = ""
        for kind in ("music", "video", "matching"):
            path = folder / manifest.get("models", {}).get(kind, _MODEL_FILES[kind])
            models[kind] = load_model(path, kind=kind, map_location=target).model
            digest.update(path.read_bytes())
            if kind == "music":
                music_version = digest.hexdigest()
        return cls(models["music"], models["video"], models["matching"], features=features, score=score,
                   device=target, version=digest.hexdigest(), music_version=music_version,
                   extra=manifest.get("extra", {}))

    # -- embeddings ----------------------------------------------------------------------------
    @torch.no_grad()
    def embed_music(self, source: str | os.PathLike[str] | MusicInputs, *, hop_s: float | None = None,
                    max_duration_s: float | None = None, batch_clips: int = 64) -> MusicEmbedding:
        """Music-encoder features of clips starting every ``hop_s`` (default ``clip_s / 4``)."""
        cfg = self.features
        hop_s = cfg.clip_s / 4 if hop_s is None else hop_s
        steps = cfg.clip_s / hop_s
        if hop_s <= 0 or abs(steps - round(steps)) > 1e-6:
            raise ConfigError(f"hop_s {hop_s} must divide clip_s {cfg.clip_s}")
        inputs = source if isinstance(source, MusicInputs) else music_inputs(source, config=cfg, max_duration_s=max_duration_s)
        starts = np.arange(0.0, max(inputs.duration_s - 0.5 * hop_s, hop_s * 0.5), hop_s)
        clips, tokens = music_clip_inputs(inputs, starts, config=cfg)
        features = [self.music.embed_clips(torch.from_numpy(clips[i:i + batch_clips]).to(self.device)).float().cpu()
                    for i in range(0, len(clips), batch_clips)]
        periodicity = music_periodicity(inputs.analysis, starts, clip_s=cfg.clip_s)
        return MusicEmbedding(torch.cat(features).numpy(), tokens, starts, inputs.duration_s, periodicity)

    @torch.no_grad()
    def embed_video(self, source: str | os.PathLike[str] | VideoInputs, *, max_duration_s: float | None = None,
                    batch_clips: int = 64) -> VideoEmbedding:
        """Video-encoder features of the video's consecutive ``clip_s`` clips."""
        inputs = source if isinstance(source, VideoInputs) else video_inputs(source, config=self.features,
                                                                              max_duration_s=max_duration_s)
        frames = torch.from_numpy(inputs.frames)
        features = [self.video.embed_clips(frames[i:i + batch_clips].to(self.device).float() / 255.0).float().cpu()
                    for i in range(0, len(frames), batch_clips)]
        return VideoEmbedding(torch.cat(features).numpy(), inputs.flow_tokens, inputs.duration_s, inputs.periodicity)

    # -- learned similarity --------------------------------------------------------------------
    @staticmethod
    def window_offsets(music: MusicEmbedding, *, span_s: float = 0.0) -> np.ndarray:
        """Clip starts (s) of ``music`` from which ``span_s`` seconds of music remain (at least 0.0)."""
        hop = float(music.starts_s[1] - music.starts_s[0]) if len(music.starts_s) > 1 else 1.0
        fits = music.starts_s + span_s <= music.duration_s + 0.5 * hop
        return music.starts_s[fits] if fits.any() else music.starts_s[:1].copy()

    @torch.no_grad()
    def encode_video(self, video: VideoEmbedding) -> EncodedVideo:
        """The video in the shared space (computed once per query)."""
        clips = torch.from_numpy(video.clip_features).to(self.device)[None]
        flow = torch.from_numpy(video.flow_tokens).to(self.device)[None]
        periodicity = torch.from_numpy(video.periodicity).to(self.device)[None]
        encoded = self.matching.encode_video(clips, flow, None, periodicity)
        pooled = self.matching.pooled(encoded)
        return EncodedVideo(pooled[0], F.normalize(self.matching.project_to_text(pooled), dim=-1)[0], encoded[0])

    @torch.no_grad()
    def encode_windows(self, music: MusicEmbedding, *, n_clips: int, offsets_s: np.ndarray | None = None,
                       batch_windows: int = 256) -> EncodedWindows:
        """Windows of ``n_clips`` clips of ``music`` at ``offsets_s`` (default: every clip start
        from which ``n_clips`` whole clips remain) in the shared space; cache them per (track,
        n_clips, offsets) to score many videos of that length."""
        if offsets_s is None:
            offsets_s = self.window_offsets(music, span_s=n_clips * self.features.clip_s)
        offsets = np.asarray(offsets_s, np.float64)
        parts = [self._encode_windows(music, offsets[i:i + batch_windows], n_clips)
                 for i in range(0, len(offsets), batch_windows)]
        if not parts:
            raise ConfigError("no window offsets to encode")
        return EncodedWindows(offsets, *(torch.cat(p) for p in zip(*parts)))

    @torch.no_grad()
    def score_windows(self, video: EncodedVideo, windows: EncodedWindows) -> np.ndarray:
        """Learned score [k] of an encoded video against each encoded window (``ScoreConfig``)."""
        c = self.score_config
        score = c.pooled_weight * (windows.pooled @ video.pooled) + c.text_weight * (windows.text @ video.text)
        if c.aligned_weight:
            n = len(windows.pooled)
            aligned = self.matching.clip_similarity(video.clips.expand(n, -1, -1), windows.clips,
                                                    music_mask=windows.mask)
            score = score + c.aligned_weight * aligned
        return score.cpu().numpy()

    def score_offsets(self, video: VideoEmbedding, music: MusicEmbedding, offsets_s: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Learned score of ``video`` against the window of ``music`` at each offset → (offsets [k], scores [k]).

        Default offsets: every clip start from which the whole video fits in the track.
        """
        if offsets_s is None:
            offsets_s = self.window_offsets(music, span_s=video.duration_s)
        windows = self.encode_windows(music, n_clips=len(video.clip_features), offsets_s=offsets_s)
        return windows.offsets_s, self.score_windows(self.encode_video(video), windows)

    def similarity(self, video: VideoEmbedding, music: MusicEmbedding, offset_s: float) -> float:
        """Learned score of ``video`` against ``music`` starting at ``offset_s`` (snapped to the clip grid)."""
        return float(self.score_offsets(video, music, np.array([offset_s]))[1][0])

    def best_offset(self, video: VideoEmbedding, music: MusicEmbedding) -> tuple[float, float]:
        """(offset_s, score) of the best-scoring window of ``music`` for ``video``."""
        offsets, scores = self.score_offsets(video, music)
        best = int(np.argmax(scores))
        return float(offsets[best]), float(scores[best])

    def track_windows(self, key: str, n_clips: int, music: Callable[[], MusicEmbedding | None], *,
                      duration_s: float) -> EncodedWindows | None:
        """The windows of ``n_clips`` clips of a track at every offset from which a video of
        ``duration_s`` fits, in the shared space. Encoded once per (``key``, ``n_clips``) and kept
        in a bounded LRU cache (``music`` is called only on a miss), since they do not depend on
        the query: ranking many videos then costs one matrix product per track. None when
        ``music`` returns None."""
        cache_key = (key, n_clips)
        entry = self._windows.get(cache_key)
        if entry is None:
            embedding = music()
            if embedding is None:
                return None
            all_offsets = self.window_offsets(embedding, span_s=(n_clips - 1) * self.features.clip_s)
            windows = self.encode_windows(embedding, n_clips=n_clips, offsets_s=all_offsets)
            if not self.score_config.aligned_weight:  # the clips are only needed for the aligned term
                windows = dataclasses.replace(windows, clips=windows.clips[:, :0], mask=windows.mask[:, :0])
            hop = float(embedding.starts_s[1] - embedding.starts_s[0]) if len(embedding.starts_s) > 1 else 1.0
            entry = (windows, embedding.duration_s, hop)
            self._windows[cache_key] = entry
            while len(self._windows) > WINDOW_CACHE_ENTRIES:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(cache_key)
        windows, track_s, hop = entry
        fits = np.flatnonzero(windows.offsets_s + duration_s <= track_s + 0.5 * hop)
        if len(fits) in (0, len(windows.offsets_s)):
            return windows if len(fits) else _select(windows, np.array([0]))
        return _select(windows, fits)

    def music_window_embeddings(self, music: MusicEmbedding, *, n_clips: int, offsets_s: np.ndarray | None = None
                                ) -> tuple[np.ndarray, np.ndarray]:
        """(offsets [k], L2-normalised pooled shared-space embeddings [k, dim]) of windows (for an ANN index)."""
        windows = self.encode_windows(music, n_clips=n_clips, offsets_s=offsets_s)
        return windows.offsets_s, windows.pooled.cpu().numpy()

    def video_query_embedding(self, video: VideoEmbedding) -> np.ndarray:
        """L2-normalised pooled shared-space embedding [dim] of a video (query of an ANN index)."""
        return self.encode_video(video).pooled.cpu().numpy()

    @torch.no_grad()
    def encode_track_windows(self, windows: Sequence[tuple[MusicEmbedding, float]], *, n_clips: int,
                             batch_windows: int = 256) -> EncodedWindows:
        """One window of ``n_clips`` clips per (track embedding, offset s) pair, batched across
        tracks (one matching-model pass instead of one per track); offsets snap to each track's clip hop."""
        if not windows:
            raise ConfigError("no windows to encode")
        parts = []
        for i in range(0, len(windows), batch_windows):
            rows = [self._window_rows(music, np.array([offset]), n_clips) for music, offset in windows[i:i + batch_windows]]
            parts.append(self._encode_rows(*(np.concatenate(arrays) for arrays in zip(*rows))))
        offsets = np.array([offset for _, offset in windows], np.float64)
        return EncodedWindows(offsets, *(torch.cat(p) for p in zip(*parts)))

    def _window_rows(self, music: MusicEmbedding, offsets_s: np.ndarray, n_clips: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Clip features [k, n, D], rhythm tokens [k, n, 3], periodicity [k, n, P] and mask [k, n]
        of the windows of ``music`` at ``offsets_s`` [k]."""
        step = self.features.clip_s
        hop = float(music.starts_s[1] - music.starts_s[0]) if len(music.starts_s) > 1 else step
        first = np.round(np.asarray(offsets_s) / hop).astype(np.int64)
        index = first[:, None] + np.round(np.arange(n_clips) * step / hop).astype(np.int64)[None, :]
        mask = index < len(music.starts_s)
        index = np.minimum(index, len(music.starts_s) - 1)
        return music.clip_features[index], music.rhythm_tokens[index], music.periodicity[index], mask

    def _encode_windows(self, music: MusicEmbedding, offsets_s: np.ndarray, n_clips: int
                        ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self._encode_rows(*self._window_rows(music, offsets_s, n_clips))

    def _encode_rows(self, clip_features: np.ndarray, rhythm_tokens: np.ndarray, periodicity: np.ndarray,
                     mask: np.ndarray) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """→ pooled [k, dim], unit text [k, text_dim], clips [k, n, dim], mask [k, n]."""
        clips = torch.from_numpy(clip_features).to(self.device)
        tokens = torch.from_numpy(rhythm_tokens).to(self.device)
        periodicity_t = torch.from_numpy(periodicity).to(self.device)
        mask_t = torch.from_numpy(mask).to(self.device)
        encoded = self.matching.encode_music(clips, tokens, mask_t, periodicity_t)
        pooled = self.matching.pooled(encoded, mask_t)
        return pooled, F.normalize(self.matching.project_to_text(pooled), dim=-1), encoded, mask_t
