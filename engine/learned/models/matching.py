"""Matching model: maps video and music clip features into one shared space (paper §3).

Per modality: optional token embeddings (rhythm for music, flow for video) and an embedding of
the clip's periodicity features (``engine.periodicity``) added to the clip features → sinusoidal
clip positions → one pre-norm transformer layer over clips → MLP projection to ``dim``. On top: a bidirectional cross-attention match/no-match classifier, a
reconstruction head per modality and a projection to the tag-text embedding space. The
losses live in ``bgmatch.training``; this module only holds the networks.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import require, require_positive
from .layers import FeedForward, MultiHeadAttention, check_mask, masked_mean, sinusoidal_positions

RHYTHM_FIELDS = ("beat_count", "onset_strength", "beat_interval")
"""Order of the last axis of ``rhythm_tokens`` [B, n, 3]."""


@dataclass(frozen=True)
class MatchingConfig:
    """Matching model settings; defaults follow the paper widths (music 512, video 256).

    ``music_dim``/``video_dim`` must equal the encoders' ``d_model``. ``dim`` is the shared
    embedding width and ``text_dim`` the width of the tag-text embeddings (384 for the
    MiniLM text model we ship; the paper's mpnet is 768). Token embeddings can be switched
    off for ablations; tokens passed to a model that has them off are ignored.
    """

    music_dim: int = 512
    video_dim: int = 256
    dim: int = 256
    n_heads: int = 8
    ff_mult: int = 4
    dropout: float = 0.1
    text_dim: int = 384
    use_rhythm_tokens: bool = True
    use_flow_tokens: bool = True
    clip_level: bool = True
    """False (an ablation): every clip is replaced by the mean of the item's clips (tokens
    included) before matching, i.e. one vector per file as in extractors that mean-pool, so no
    temporal correspondence between picture and music survives."""
    beat_count_classes: int = 18
    onset_strength_bins: int = 49
    beat_interval_classes: int = 65
    flow_classes: int = 65
    periodicity_dim: int = 0
    """Width of the per-clip periodicity features (``engine.periodicity.PERIODICITY_DIM``) that
    are embedded and added to the clip features; 0 (the paper) leaves them out. They carry rhythm
    on the music side and motion on the video side, so ``use_rhythm_tokens`` / ``use_flow_tokens``
    switch each side's off too."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        require_positive(owner, music_dim=self.music_dim, video_dim=self.video_dim, dim=self.dim,
                         n_heads=self.n_heads, ff_mult=self.ff_mult, text_dim=self.text_dim,
                         beat_count_classes=self.beat_count_classes,
                         onset_strength_bins=self.onset_strength_bins,
                         beat_interval_classes=self.beat_interval_classes,
                         flow_classes=self.flow_classes)
        require(self.periodicity_dim >= 0, owner, f"periodicity_dim must be >= 0, got {self.periodicity_dim}")
        for name in ("music_dim", "video_dim", "dim"):
            value = getattr(self, name)
            require(value % self.n_heads == 0, owner, f"{name} {value} is not divisible by n_heads {self.n_heads}")
        require(0.0 <= self.dropout < 1.0, owner, f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def rhythm_classes(self) -> tuple[int, int, int]:
        """Class counts of the rhythm token fields, in ``RHYTHM_FIELDS`` order."""
        return (self.beat_count_classes, self.onset_strength_bins, self.beat_interval_classes)


@dataclass
class MatchingOutput:
    """Everything the training losses need from one forward pass."""

    video: Tensor
    """[B, n_video, dim] clip-level video embeddings (zeros on padded clips)."""
    music: Tensor
    """[B, n_music, dim] clip-level music embeddings (zeros on padded clips)."""
    video_pooled: Tensor
    """[B, dim] L2-normalised mean of the valid video clips."""
    music_pooled: Tensor
    """[B, dim] L2-normalised mean of the valid music clips."""
    video_text: Tensor
    """[B, text_dim] pooled video projected to the tag-text space."""
    music_text: Tensor
    """[B, text_dim] pooled music projected to the tag-text space."""
    video_reconstruction: Tensor
    """[B, n_video, video_dim] prediction of the input video clip features."""
    music_reconstruction: Tensor
    """[B, n_music, music_dim] prediction of the input music clip features."""
    match_logits: Tensor
    """[B] match logit of each (video_i, music_i) pair."""
    negative_match_logits: Tensor | None
    """[B] match logit of (video_i, music_{negative_music_index[i]}), when an index was given."""


class ClipSequenceEncoder(nn.Module):
    """Clip positions + one transformer layer over clips + MLP. [B, n, in_dim] → [B, n, dim]."""

    def __init__(self, in_dim: int, dim: int, n_heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(in_dim)
        self.attention = MultiHeadAttention(in_dim, n_heads, dropout)
        self.dropout = nn.Dropout(dropout)
        self.ff = FeedForward(in_dim, ff_mult, dropout)
        self.norm = nn.LayerNorm(in_dim)
        self.projection = nn.Sequential(nn.Linear(in_dim, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        x = x + sinusoidal_positions(x.shape[1], x.shape[2], device=x.device, dtype=x.dtype)
        x = x + self.dropout(self.attention(self.attention_norm(x), key_mask=mask))
        x = x + self.ff(x)
        out = self.projection(self.norm(x))
        return out if mask is None else out * mask.unsqueeze(-1).to(out.dtype)


class CrossAttentionBlock(nn.Module):
    """Queries [B, nq, D] attend to a context [B, nk, D] (+ mask [B, nk]) → [B, nq, D]."""

    def __init__(self, dim: int, n_heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.query_norm = nn.LayerNorm(dim)
        self.context_norm = nn.LayerNorm(dim)
        self.attention = MultiHeadAttention(dim, n_heads, dropout)
        self.dropout = nn.Dropout(dropout)
        self.ff = FeedForward(dim, ff_mult, dropout)

    def forward(self, query: Tensor, context: Tensor, *, context_mask: Tensor | None = None) -> Tensor:
        attended = self.attention(self.query_norm(query), self.context_norm(context), key_mask=context_mask)
        x = query + self.dropout(attended)
        return x + self.ff(x)


class MatchingModel(nn.Module):
    """Video–music matching networks over clip features from the two encoders."""

    def __init__(self, config: MatchingConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.rhythm_embeddings = (
            nn.ModuleList(_small_embedding(n, c.music_dim) for n in c.rhythm_classes)
            if c.use_rhythm_tokens else None
        )
        self.flow_embedding = _small_embedding(c.flow_classes, c.video_dim) if c.use_flow_tokens else None
        with_periodicity = c.periodicity_dim > 0
        self.music_periodicity = _mlp(c.periodicity_dim, c.music_dim) if with_periodicity and c.use_rhythm_tokens else None
        self.video_periodicity = _mlp(c.periodicity_dim, c.video_dim) if with_periodicity and c.use_flow_tokens else None
        self.music_encoder = ClipSequenceEncoder(c.music_dim, c.dim, c.n_heads, c.ff_mult, c.dropout)
        self.video_encoder = ClipSequenceEncoder(c.video_dim, c.dim, c.n_heads, c.ff_mult, c.dropout)
        self.video_to_music = CrossAttentionBlock(c.dim, c.n_heads, c.ff_mult, c.dropout)
        self.music_to_video = CrossAttentionBlock(c.dim, c.n_heads, c.ff_mult, c.dropout)
        self.match_head = nn.Sequential(
            nn.LayerNorm(4 * c.dim), nn.Linear(4 * c.dim, c.dim), nn.GELU(), nn.Dropout(c.dropout),
            nn.Linear(c.dim, 1),
        )
        self.music_reconstruction = _mlp(c.dim, c.music_dim)
        self.video_reconstruction = _mlp(c.dim, c.video_dim)
        self.text_projection = nn.Linear(c.dim, c.text_dim)

    def encode_music(
        self, clips: Tensor, rhythm_tokens: Tensor | None = None, mask: Tensor | None = None,
        periodicity: Tensor | None = None,
    ) -> Tensor:
        """Music clip features [B, n, music_dim] (+ rhythm tokens long [B, n, 3], mask [B, n],
        periodicity [B, n, periodicity_dim]) → clip embeddings [B, n, dim]."""
        _check_features(clips, self.config.music_dim, "music clips", mask)
        if self.rhythm_embeddings is not None and rhythm_tokens is not None:
            _check_tokens(rhythm_tokens, (*clips.shape[:2], 3), self.config.rhythm_classes, "rhythm_tokens")
            for field, embedding in enumerate(self.rhythm_embeddings):
                clips = clips + embedding(rhythm_tokens[..., field])
        clips = self._add_periodicity(clips, self.music_periodicity, periodicity, "music periodicity")
        return self.music_encoder(self._file_level(clips, mask), mask)

    def encode_video(
        self, clips: Tensor, flow_tokens: Tensor | None = None, mask: Tensor | None = None,
        periodicity: Tensor | None = None,
    ) -> Tensor:
        """Video clip features [B, n, video_dim] (+ flow tokens long [B, n], mask [B, n],
        periodicity [B, n, periodicity_dim]) → clip embeddings [B, n, dim]."""
        _check_features(clips, self.config.video_dim, "video clips", mask)
        if self.flow_embedding is not None and flow_tokens is not None:
            _check_tokens(flow_tokens, clips.shape[:2], (self.config.flow_classes,), "flow_tokens")
            clips = clips + self.flow_embedding(flow_tokens)
        clips = self._add_periodicity(clips, self.video_periodicity, periodicity, "video periodicity")
        return self.video_encoder(self._file_level(clips, mask), mask)

    def _add_periodicity(self, clips: Tensor, embedding: nn.Module | None, periodicity: Tensor | None,
                         name: str) -> Tensor:
        if embedding is None:
            return clips
        expected = (*clips.shape[:2], self.config.periodicity_dim)
        if periodicity is None or tuple(periodicity.shape) != expected:
            got = None if periodicity is None else tuple(periodicity.shape)
            raise ValueError(f"{name} must be a float tensor of shape {expected} (this model embeds it), got {got}")
        return clips + embedding(periodicity.to(clips.dtype))

    def _file_level(self, clips: Tensor, mask: Tensor | None) -> Tensor:
        """``clips`` unchanged, or (``clip_level`` off) each item's clip mean on every clip."""
        if self.config.clip_level:
            return clips
        return masked_mean(clips, mask).unsqueeze(1).expand_as(clips)

    @staticmethod
    def pooled(x: Tensor, mask: Tensor | None = None) -> Tensor:
        """L2-normalised mean of the valid clips: [B, n, D] (+ mask [B, n]) → [B, D]."""
        return F.normalize(masked_mean(x, mask), dim=-1)

    @staticmethod
    def clip_similarity(
        video_clips: Tensor,
        music_clips: Tensor,
        *,
        video_mask: Tensor | None = None,
        music_mask: Tensor | None = None,
    ) -> Tensor:
        """Mean cosine of temporally aligned clip pairs (clip i with clip i) → [B].

        Only the first ``min(n_video, n_music)`` clips where both masks are True count; a pair
        with none scores 0.
        """
        n = min(video_clips.shape[1], music_clips.shape[1])
        cosine = F.cosine_similarity(video_clips[:, :n], music_clips[:, :n], dim=-1)  # [B, n]
        valid = torch.ones_like(cosine, dtype=torch.bool)
        if video_mask is not None:
            check_mask(video_mask, video_clips.shape[:2], "video_mask")
            valid = valid & video_mask[:, :n]
        if music_mask is not None:
            check_mask(music_mask, music_clips.shape[:2], "music_mask")
            valid = valid & music_mask[:, :n]
        weights = valid.to(cosine.dtype)
        return (cosine * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)

    def match_logits(
        self,
        video: Tensor,
        music: Tensor,
        *,
        video_mask: Tensor | None = None,
        music_mask: Tensor | None = None,
    ) -> Tensor:
        """Match/no-match logit per pair from clip embeddings [B, nv, dim] and [B, nm, dim] → [B]."""
        video_attended = self.video_to_music(video, music, context_mask=music_mask)
        music_attended = self.music_to_video(music, video, context_mask=video_mask)
        v = masked_mean(video_attended, video_mask)
        m = masked_mean(music_attended, music_mask)
        return self.match_head(torch.cat([v, m, v * m, (v - m).abs()], dim=-1)).squeeze(-1)

    def project_to_text(self, x: Tensor) -> Tensor:
        """Shared embeddings [..., dim] → tag-text space [..., text_dim]."""
        return self.text_projection(x)

    def forward(
        self,
        video_clips: Tensor,
        music_clips: Tensor,
        *,
        video_mask: Tensor | None = None,
        music_mask: Tensor | None = None,
        flow_tokens: Tensor | None = None,
        rhythm_tokens: Tensor | None = None,
        video_periodicity: Tensor | None = None,
        music_periodicity: Tensor | None = None,
        negative_music_index: Tensor | None = None,
    ) -> MatchingOutput:
        """Run every head once (so DDP sees one forward). Shapes as in ``MatchingOutput``.

        ``negative_music_index`` (long [B]) pairs video i with music ``index[i]`` of the same
        batch for the no-match logits.
        """
        video = self.encode_video(video_clips, flow_tokens, video_mask, video_periodicity)
        music = self.encode_music(music_clips, rhythm_tokens, music_mask, music_periodicity)
        video_pooled = self.pooled(video, video_mask)
        music_pooled = self.pooled(music, music_mask)
        negative = None
        if negative_music_index is not None:
            negative = self.match_logits(
                video, music[negative_music_index], video_mask=video_mask,
                music_mask=None if music_mask is None else music_mask[negative_music_index],
            )
        return MatchingOutput(
            video=video,
            music=music,
            video_pooled=video_pooled,
            music_pooled=music_pooled,
            video_text=self.project_to_text(video_pooled),
            music_text=self.project_to_text(music_pooled),
            video_reconstruction=self.video_reconstruction(video),
            music_reconstruction=self.music_reconstruction(music),
            match_logits=self.match_logits(video, music, video_mask=video_mask, music_mask=music_mask),
            negative_match_logits=negative,
        )


def _small_embedding(n_classes: int, dim: int) -> nn.Embedding:
    embedding = nn.Embedding(n_classes, dim)
    nn.init.normal_(embedding.weight, std=0.02)  # start as a small nudge to the clip features
    return embedding


def _mlp(in_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, in_dim), nn.GELU(), nn.Linear(in_dim, out_dim))


def _check_features(clips: Tensor, dim: int, name: str, mask: Tensor | None) -> None:
    if clips.ndim != 3 or clips.shape[-1] != dim:
        raise ValueError(f"{name} must be [B, n_clips, {dim}], got {tuple(clips.shape)}")
    if mask is not None:
        check_mask(mask, clips.shape[:2], "mask")


def _check_tokens(tokens: Tensor, shape: tuple[int, ...], n_classes: tuple[int, ...], name: str) -> None:
    if tokens.dtype != torch.long or tuple(tokens.shape) != tuple(shape):
        raise ValueError(f"{name} must be a long tensor of shape {tuple(shape)}, got {tokens.dtype} "
                         f"{tuple(tokens.shape)}")
    limits = torch.tensor(n_classes, device=tokens.device)
    if bool(((tokens < 0) | (tokens >= limits)).any()):
        raise ValueError(f"{name} out of range: classes per field are {n_classes}")
