"""Conformer blocks (Gulati et al. 2020) in plain torch.

Block: ½·FFN → multi-head self-attention → convolution module → ½·FFN → LayerNorm, each
with a residual connection. The convolution module is pointwise conv → GLU → depthwise conv
(``conv_kernel``) → BatchNorm or LayerNorm → SiLU → pointwise conv.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

from .config import require, require_positive
from .layers import FeedForward, MultiHeadAttention, RelativePositionBias, check_mask, sinusoidal_positions

ConvNorm = Literal["batch", "layer"]
Position = Literal["relative", "sinusoidal", "none"]


@dataclass(frozen=True)
class ConformerConfig:
    """Width and depth of a Conformer stack.

    ``position``: ``"relative"`` adds a learned, clipped relative-distance bias to every
    attention layer; ``"sinusoidal"`` adds absolute sin/cos positions to the input; ``"none"``
    leaves positions to the caller (the video encoder adds 2-D positions itself).
    """

    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    ff_mult: int = 4
    conv_kernel: int = 31
    conv_norm: ConvNorm = "batch"
    position: Position = "relative"
    max_relative_distance: int = 128
    dropout: float = 0.1

    def __post_init__(self) -> None:
        owner = type(self).__name__
        require_positive(owner, d_model=self.d_model, n_layers=self.n_layers, n_heads=self.n_heads,
                         ff_mult=self.ff_mult, conv_kernel=self.conv_kernel,
                         max_relative_distance=self.max_relative_distance)
        require(self.d_model % self.n_heads == 0, owner,
                f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        require(self.conv_kernel % 2 == 1, owner, f"conv_kernel must be odd, got {self.conv_kernel}")
        require(0.0 <= self.dropout < 1.0, owner, f"dropout must be in [0, 1), got {self.dropout}")


class ConvolutionModule(nn.Module):
    """Conformer convolution module, pre-norm, without the residual. [N, T, D] → [N, T, D]."""

    def __init__(self, dim: int, kernel_size: int, norm: ConvNorm, dropout: float) -> None:
        super().__init__()
        self.norm_in = nn.LayerNorm(dim)
        self.pointwise_in = nn.Linear(dim, 2 * dim)
        self.depthwise = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm_mid: nn.Module = nn.BatchNorm1d(dim) if norm == "batch" else nn.LayerNorm(dim)
        self.pointwise_out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        y = nn.functional.glu(self.pointwise_in(self.norm_in(x)), dim=-1)
        if mask is not None:
            y = y.masked_fill(~mask.unsqueeze(-1), 0.0)  # padding must not leak into the conv
        y = self.depthwise(y.transpose(1, 2))  # [N, D, T]
        if isinstance(self.norm_mid, nn.BatchNorm1d):
            y = self.norm_mid(y).transpose(1, 2)
        else:
            y = self.norm_mid(y.transpose(1, 2))
        return self.dropout(self.pointwise_out(nn.functional.silu(y)))


class ConformerBlock(nn.Module):
    """One Conformer block. [N, T, D] (+ mask [N, T]) → [N, T, D]."""

    def __init__(self, config: ConformerConfig) -> None:
        super().__init__()
        dim = config.d_model
        self.ff_in = FeedForward(dim, config.ff_mult, config.dropout)
        self.attention_norm = nn.LayerNorm(dim)
        self.attention = MultiHeadAttention(dim, config.n_heads, config.dropout)
        self.attention_dropout = nn.Dropout(config.dropout)
        self.relative_bias = (
            RelativePositionBias(config.n_heads, config.max_relative_distance)
            if config.position == "relative"
            else None
        )
        self.conv = ConvolutionModule(dim, config.conv_kernel, config.conv_norm, config.dropout)
        self.ff_out = FeedForward(dim, config.ff_mult, config.dropout)
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        x = x + 0.5 * self.ff_in(x)
        length = x.shape[1]
        bias = self.relative_bias(length, length) if self.relative_bias is not None else None
        attended = self.attention(self.attention_norm(x), key_mask=mask, bias=bias)
        x = x + self.attention_dropout(attended)
        x = x + self.conv(x, mask)
        x = x + 0.5 * self.ff_out(x)
        return self.norm_out(x)


class Conformer(nn.Module):
    """A stack of ``n_layers`` Conformer blocks. [N, T, D] (+ mask [N, T]) → [N, T, D]."""

    def __init__(self, config: ConformerConfig) -> None:
        super().__init__()
        self.config = config
        self.blocks = nn.ModuleList(ConformerBlock(config) for _ in range(config.n_layers))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x`` [N, T, d_model]; ``mask`` [N, T] bool, True on real frames."""
        if x.ndim != 3 or x.shape[-1] != self.config.d_model:
            raise ValueError(f"expected input [N, T, {self.config.d_model}], got {tuple(x.shape)}")
        if mask is not None:
            check_mask(mask, x.shape[:2], "mask")
        if self.config.position == "sinusoidal":
            x = x + sinusoidal_positions(x.shape[1], x.shape[2], device=x.device, dtype=x.dtype)
        for block in self.blocks:
            x = block(x, mask)
        return x

