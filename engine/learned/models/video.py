"""Video encoder: grayscale frame clips → per-clip embeddings and unified-target tag logits."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .config import require, require_positive
from .conformer import Conformer, ConformerConfig, ConvNorm
from .layers import ClipEncoder, sinusoidal_positions


@dataclass(frozen=True)
class VideoEncoderConfig:
    """Video encoder settings; defaults are the paper's (Conformer d=256, 10 layers, 16 heads).

    A clip is ``frames_per_clip`` grayscale frames (the paper: 4 frames at 1 fps, 224 px).
    ``frame_px`` is the size the feature extractor should resize to; the encoder itself takes
    any height and width divisible by ``patch_px``. Each frame is cut into ``patch_px`` patches
    by a two-stage strided conv stem (stride 4, then ``patch_px / 4``); the tokens of all
    frames of a clip go through one Conformer with 2-D sinusoidal and learned frame positions.
    """

    frames_per_clip: int = 4
    frame_px: int = 224
    patch_px: int = 16
    stem_channels: int = 32
    d_model: int = 256
    n_layers: int = 10
    n_heads: int = 16
    conv_kernel: int = 31
    n_targets: int = 663
    ff_mult: int = 4
    conv_norm: ConvNorm = "batch"
    dropout: float = 0.1

    def __post_init__(self) -> None:
        owner = type(self).__name__
        require_positive(owner, frames_per_clip=self.frames_per_clip, frame_px=self.frame_px,
                         patch_px=self.patch_px, stem_channels=self.stem_channels,
                         n_targets=self.n_targets)
        require(self.patch_px % 4 == 0, owner, f"patch_px must be a multiple of 4, got {self.patch_px}")
        require(self.frame_px % self.patch_px == 0, owner,
                f"frame_px {self.frame_px} is not divisible by patch_px {self.patch_px}")
        require(self.d_model % 4 == 0, owner,
                f"d_model must be a multiple of 4 (2-D positions), got {self.d_model}")
        self.conformer()

    def conformer(self) -> ConformerConfig:
        """The Conformer stack settings implied by this config (positions added by the stem)."""
        return ConformerConfig(
            d_model=self.d_model, n_layers=self.n_layers, n_heads=self.n_heads,
            ff_mult=self.ff_mult, conv_kernel=self.conv_kernel, conv_norm=self.conv_norm,
            position="none", dropout=self.dropout,
        )


def sinusoidal_positions_2d(
    height: int, width: int, dim: int, *, device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Row/column sin/cos positions, [height * width, dim] in row-major order (dim % 4 == 0)."""
    rows = sinusoidal_positions(height, dim // 2, device=device, dtype=dtype)
    cols = sinusoidal_positions(width, dim // 2, device=device, dtype=dtype)
    grid = torch.cat(
        [rows[:, None, :].expand(height, width, -1), cols[None, :, :].expand(height, width, -1)], dim=-1
    )
    return grid.reshape(height * width, dim)


class PatchStem(nn.Module):
    """Grayscale frames [M, 1, H, W] → patch features [M, d_model, H/patch_px, W/patch_px]."""

    def __init__(self, patch_px: int, channels: int, d_model: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=4, stride=4),
            nn.GELU(),
            nn.Conv2d(channels, d_model, kernel_size=patch_px // 4, stride=patch_px // 4),
        )

    def forward(self, frames: Tensor) -> Tensor:
        return self.net(frames)


class VideoEncoder(ClipEncoder):
    """Conformer video encoder over patch tokens (paper §3, trained from scratch).

    ``forward(clips [B, n_clips, frames_per_clip, H, W] in [0, 1], mask [B, n_clips] | None)`` →
    ``ClipEncoderOutput(clip_embeddings [B, n_clips, d_model], tag_logits [B, n_clips, n_targets])``.
    A clip embedding is the mean over the clip's tokens; padded clips come back as zeros.
    """

    clip_ndim = 5
    input_doc = "[B, n_clips, frames_per_clip, H, W]"

    def __init__(self, config: VideoEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.stem = PatchStem(config.patch_px, config.stem_channels, config.d_model)
        self.token_norm = nn.LayerNorm(config.d_model)
        self.frame_embedding = nn.Parameter(torch.zeros(config.frames_per_clip, config.d_model))
        nn.init.normal_(self.frame_embedding, std=0.02)
        self.input_dropout = nn.Dropout(config.dropout)
        self.conformer = Conformer(config.conformer())
        self.tag_head = nn.Linear(config.d_model, config.n_targets)

    def embed_clips(self, frames: Tensor) -> Tensor:
        """Frame clips [N, frames_per_clip, H, W] in [0, 1] → clip embeddings [N, d_model]."""
        cfg = self.config
        if (
            frames.ndim != 4
            or frames.shape[1] != cfg.frames_per_clip
            or frames.shape[2] % cfg.patch_px
            or frames.shape[3] % cfg.patch_px
        ):
            raise ValueError(
                f"expected frame clips [N, {cfg.frames_per_clip}, H, W] with H and W divisible by "
                f"{cfg.patch_px}, got {tuple(frames.shape)}"
            )
        n, n_frames, height, width = frames.shape
        patches = self.stem((frames.reshape(n * n_frames, 1, height, width) * 2.0 - 1.0))
        rows, cols = patches.shape[-2:]
        tokens = self.token_norm(patches.flatten(2).transpose(1, 2))  # [n * F, rows * cols, D]
        tokens = tokens + sinusoidal_positions_2d(rows, cols, cfg.d_model, device=tokens.device,
                                                  dtype=tokens.dtype)
        tokens = tokens.reshape(n, n_frames, rows * cols, cfg.d_model) + self.frame_embedding[None, :, None, :]
        hidden = self.conformer(self.input_dropout(tokens.reshape(n, n_frames * rows * cols, cfg.d_model)))
        return hidden.mean(dim=1)
