"""A trained model bundle loaded for use: music and video encoders and the matching model on
one device, in eval mode. It turns model inputs (``learned.inputs``) into embeddings
(``learned.embeddings``) and scores a video against music windows. It holds no library state:
whoever ranks a library hands it the embeddings to score (``engine.library.ranking``).

Devices follow ``learned.device.pick_device`` (CUDA when present, ``device`` or
``$BGMATCH_DEVICE`` override). The folder format is ``learned.bundle_format``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..analysis.periodicity import music_periodicity
from ..config import config_from_dict, config_to_dict
from ..errors import ConfigError, ModelError
from .bundle_format import BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, MODEL_FILES, read_manifest, write_manifest
from .device import pick_device
from .embeddings import EncodedVideo, EncodedWindows, MusicEmbedding, VideoEmbedding, select_windows
from .inputs import FeatureConfig, MusicInputs, VideoInputs, music_clip_inputs, music_inputs, video_inputs
from .models import MatchingModel, MusicEncoder, VideoEncoder, load_model, save_model


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


def save_bundle(folder: str | os.PathLike[str], *, music: MusicEncoder, video: VideoEncoder,
                matching: MatchingModel, features: FeatureConfig, score: ScoreConfig = ScoreConfig(),
                extra: dict[str, Any] | None = None) -> Path:
    """Write a bundle folder (three checkpoints, then ``bundle.json`` last); return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, model in (("music", music), ("video", video), ("matching", matching)):
        save_model(folder / MODEL_FILES[kind], model, model.config, kind=kind)
    manifest = {
        "format": BUNDLE_FORMAT, "format_version": BUNDLE_FORMAT_VERSION,
        "features": config_to_dict(features), "score": config_to_dict(score),
        "models": dict(MODEL_FILES), "extra": extra or {},
    }
    write_manifest(folder, manifest)
    return folder


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

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, device: str | torch.device | None = None) -> "ModelBundle":
        """Load a bundle folder; ``ModelError`` names the file and the problem."""
        folder = Path(folder)
        manifest = read_manifest(folder)
        try:
            features = config_from_dict(FeatureConfig, manifest.get("features", {}), where="features")
            score = config_from_dict(ScoreConfig, manifest.get("score", {}), where="score")
        except ConfigError as error:
            raise ModelError(f"{folder / 'bundle.json'}: {error}") from None
        target = pick_device(device)
        models = {}
        # Versions name what embeddings depend on (features, weights), not the score settings, so
        # tuning the fusion weight keeps a library's stored embeddings.
        digest = hashlib.blake2b(json.dumps(manifest.get("features", {}), sort_keys=True).encode(), digest_size=8)
        music_version = ""
        for kind in ("music", "video", "matching"):
            path = folder / manifest.get("models", {}).get(kind, MODEL_FILES[kind])
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

    def all_windows(self, music: MusicEmbedding, n_clips: int) -> EncodedWindows:
        """Every window of ``n_clips`` clips of a track (from each clip start from which
        ``n_clips - 1`` whole clips follow) in the shared space. They do not depend on the query,
        so a caller ranking many videos may keep them (``engine.library.ranking`` does) and pick
        those a video fits with :meth:`fitting_windows`. Without an aligned score term the
        per-clip tensors are dropped (they are only needed for it)."""
        offsets = self.window_offsets(music, span_s=(n_clips - 1) * self.features.clip_s)
        windows = self.encode_windows(music, n_clips=n_clips, offsets_s=offsets)
        if not self.score_config.aligned_weight:
            windows = dataclasses.replace(windows, clips=windows.clips[:, :0], mask=windows.mask[:, :0])
        return windows

    @staticmethod
    def fitting_windows(windows: EncodedWindows, *, track_s: float, hop_s: float, duration_s: float) -> EncodedWindows:
        """The windows of ``windows`` (:meth:`all_windows` of a track ``track_s`` long whose clips
        start every ``hop_s``) from which ``duration_s`` seconds fit in the track (the first one
        when none does)."""
        fits = np.flatnonzero(windows.offsets_s + duration_s <= track_s + 0.5 * hop_s)
        if len(fits) == len(windows.offsets_s):
            return windows
        return select_windows(windows, fits if len(fits) else np.array([0]))

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
