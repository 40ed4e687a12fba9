"""Music encoder: log-mel clips → per-clip embeddings and unified-target tag logits."""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .config import require_positive
from .conformer import Conformer, ConformerConfig, ConvNorm, Position
from .layers import ClipEncoder


@dataclass(frozen=True)
class MusicEncoderConfig:
    """Music encoder settings; defaults are the paper's (Conformer d=512, 6 layers, 8 heads).

    ``n_mels`` must match the log-mel features; the frame count per clip is free (the paper
    uses 4 s clips at a 10 ms hop, ≈398 frames). ``subsample_channels`` is the width of the
    2-layer strided conv front-end that shortens time by 4 before the Conformer.
    """

    n_mels: int = 80
    d_model: int = 512
    n_layers: int = 6
    n_heads: int = 8
    conv_kernel: int = 31
    n_targets: int = 663
    ff_mult: int = 4
    conv_norm: ConvNorm = "batch"
    position: Position = "relative"
    max_relative_distance: int = 128
    subsample_channels: int = 256
    dropout: float = 0.1

    def __post_init__(self) -> None:
        owner = type(self).__name__
        require_positive(owner, n_mels=self.n_mels, n_targets=self.n_targets,
                         subsample_channels=self.subsample_channels)
        self.conformer()  # validates the shared fields

    def conformer(self) -> ConformerConfig:
        """The Conformer stack settings implied by this config."""
        return ConformerConfig(
            d_model=self.d_model, n_layers=self.n_layers, n_heads=self.n_heads,
            ff_mult=self.ff_mult, conv_kernel=self.conv_kernel, conv_norm=self.conv_norm,
            position=self.position, max_relative_distance=self.max_relative_distance,
            dropout=self.dropout,
        )


class ConvSubsampling(nn.Module):
    """Two 3×3 stride-2 convs over (time, mel). [N, T, F] → [N, ⌈T/4⌉, d_model]."""

    def __init__(self, n_mels: int, channels: int, d_model: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1),
            nn.SiLU(),
        )
        mels_out = ((n_mels + 1) // 2 + 1) // 2
        self.project = nn.Linear(channels * mels_out, d_model)

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x.unsqueeze(1))  # [N, C, T/4, F/4]
        n, channels, length, mels = y.shape
        return self.project(y.permute(0, 2, 1, 3).reshape(n, length, channels * mels))


class MusicEncoder(ClipEncoder):
    """Conformer music encoder (paper §3).

    ``forward(clips [B, n_clips, n_frames, n_mels], mask [B, n_clips] | None)`` →
    ``ClipEncoderOutput(clip_embeddings [B, n_clips, d_model], tag_logits [B, n_clips, n_targets])``.
    A clip embedding is the mean over time of the Conformer output; padded clips (mask False)
    are skipped and come back as zeros.
    """

    clip_ndim = 4
    input_doc = "[B, n_clips, n_frames, n_mels]"

    def __init__(self, config: MusicEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.subsampling = ConvSubsampling(config.n_mels, config.subsample_channels, config.d_model)
        self.input_dropout = nn.Dropout(config.dropout)
        self.conformer = Conformer(config.conformer())
        self.tag_head = nn.Linear(config.d_model, config.n_targets)

    def embed_clips(self, frames: Tensor) -> Tensor:
        """Log-mel clips [N, n_frames, n_mels] → clip embeddings [N, d_model]."""
        if frames.ndim != 3 or frames.shape[-1] != self.config.n_mels:
            raise ValueError(
                f"expected log-mel clips [N, n_frames, {self.config.n_mels}], got {tuple(frames.shape)}"
            )
        hidden = self.conformer(self.input_dropout(self.subsampling(frames)))
        return hidden.mean(dim=1)
