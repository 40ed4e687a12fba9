"""Building blocks shared by the encoders and the matching model.

Shape letters: ``N`` sequences (or clips flattened over the batch), ``T`` time steps/tokens,
``B`` batch, ``n`` clips per item, ``D`` feature width, ``H`` attention heads.
Masks are boolean and ``True`` where an element is real (not padding).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ClipEncoderOutput(NamedTuple):
    """What a clip encoder returns; padded clips hold zeros in both fields."""

    clip_embeddings: Tensor
    """[B, n_clips, d_model] mean over the clip's frames/tokens."""
    tag_logits: Tensor
    """[B, n_clips, n_targets] unified-target logits (pretraining head)."""


def sinusoidal_positions(
    n_positions: int,
    dim: int,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Sin/cos position encoding (Vaswani et al. 2017), shape [n_positions, dim]."""
    position = torch.arange(n_positions, device=device, dtype=torch.float32)[:, None]
    n_freqs = (dim + 1) // 2
    inv_freq = torch.exp(
        torch.arange(n_freqs, device=device, dtype=torch.float32) * (-2.0 * math.log(10000.0) / dim)
    )
    angles = position * inv_freq  # [n_positions, n_freqs]
    encoding = torch.zeros(n_positions, dim, device=device, dtype=torch.float32)
    encoding[:, 0::2] = torch.sin(angles)
    encoding[:, 1::2] = torch.cos(angles[:, : dim // 2])
    return encoding.to(dtype or torch.float32)


def masked_mean(x: Tensor, mask: Tensor | None) -> Tensor:
    """Mean of ``x`` [B, n, D] over ``n`` counting only ``mask`` [B, n] → [B, D].

    An item with no valid element gets zeros.
    """
    if mask is None:
        return x.mean(dim=1)
    check_mask(mask, x.shape[:2], "mask")
    weights = mask.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def check_mask(mask: Tensor, shape: Sequence[int], name: str) -> None:
    """Raise ``ValueError`` unless ``mask`` is a bool tensor of ``shape``."""
    if mask.dtype != torch.bool or tuple(mask.shape) != tuple(shape):
        raise ValueError(
            f"{name} must be a bool tensor of shape {tuple(shape)}, "
            f"got {mask.dtype} {tuple(mask.shape)}"
        )


def run_on_valid_clips(
    encode: Callable[[Tensor], tuple[Tensor, ...]],
    clips: Tensor,
    mask: Tensor | None,
    out_dims: Sequence[int],
) -> tuple[Tensor, ...]:
    """Apply ``encode`` ([N, ...] → tensors [N, d_i]) to the valid clips of ``clips`` [B, n, ...].

    Padded clips are never fed to ``encode`` (so they cannot leak into batch statistics) and
    come back as zeros. Returns one tensor [B, n, d_i] per entry of ``out_dims``.
    """
    batch, n_clips = clips.shape[:2]
    flat = clips.reshape(batch * n_clips, *clips.shape[2:])
    if mask is None:
        return tuple(out.reshape(batch, n_clips, -1) for out in encode(flat))
    check_mask(mask, (batch, n_clips), "mask")
    index = mask.reshape(-1).nonzero().squeeze(1)
    if index.numel() == 0:
        return tuple(clips.new_zeros(batch, n_clips, dim) for dim in out_dims)
    results = []
    for out in encode(flat.index_select(0, index)):
        full = out.new_zeros(batch * n_clips, out.shape[-1]).index_copy(0, index, out)
        results.append(full.reshape(batch, n_clips, -1))
    return tuple(results)


class FeedForward(nn.Module):
    """Pre-norm position-wise feed-forward: LayerNorm → Linear → SiLU → Linear. [.., D] → [.., D]."""

    def __init__(self, dim: int, mult: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, mult * dim),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(mult * dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class RelativePositionBias(nn.Module):
    """Learned per-head attention bias by clipped relative distance (Shaw et al. 2018 style)."""

    def __init__(self, n_heads: int, max_distance: int) -> None:
        super().__init__()
        self.max_distance = max_distance
        self.table = nn.Parameter(torch.zeros(2 * max_distance + 1, n_heads))

    def forward(self, n_query: int, n_key: int) -> Tensor:
        """Return the bias [H, n_query, n_key]."""
        device = self.table.device
        distance = torch.arange(n_key, device=device)[None, :] - torch.arange(n_query, device=device)[:, None]
        index = distance.clamp(-self.max_distance, self.max_distance) + self.max_distance
        return self.table[index].permute(2, 0, 1)


class MultiHeadAttention(nn.Module):
    """Multi-head attention over ``F.scaled_dot_product_attention``.

    Self-attention when ``context`` is None, cross-attention otherwise. ``key_mask`` [N, Tk]
    hides padded keys; ``bias`` [H, Tq, Tk] is added to the attention scores.
    """

    def __init__(self, dim: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        if dim % n_heads:
            raise ValueError(f"dim {dim} is not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.dropout = dropout
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(
        self,
        x: Tensor,
        context: Tensor | None = None,
        *,
        key_mask: Tensor | None = None,
        bias: Tensor | None = None,
    ) -> Tensor:
        """``x`` [N, Tq, D], ``context`` [N, Tk, D] → [N, Tq, D]."""
        context = x if context is None else context
        n, n_query, dim = x.shape
        q = self._split_heads(self.query(x))
        k, v = (self._split_heads(t) for t in self.key_value(context).chunk(2, dim=-1))
        attn_mask = _attention_mask(key_mask, bias, q.dtype)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out(out.transpose(1, 2).reshape(n, n_query, dim))

    def _split_heads(self, x: Tensor) -> Tensor:
        n, length, dim = x.shape
        return x.reshape(n, length, self.n_heads, dim // self.n_heads).transpose(1, 2)


def _attention_mask(key_mask: Tensor | None, bias: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """Combine a key padding mask [N, Tk] and a score bias [H, Tq, Tk] for SDPA."""
    keep = None
    if key_mask is not None:
        # A sequence with no valid key attends to everything rather than producing NaN;
        # callers zero such outputs afterwards.
        key_mask = key_mask | ~key_mask.any(dim=-1, keepdim=True)
        keep = key_mask[:, None, None, :]  # [N, 1, 1, Tk]
    if bias is None:
        return keep
    bias = bias.to(dtype).unsqueeze(0)  # [1, H, Tq, Tk]
    if keep is None:
        return bias
    return torch.where(keep, bias, torch.tensor(float("-inf"), dtype=dtype, device=bias.device))


class ClipEncoder(nn.Module):
    """Shared ``forward`` of the music and video encoders: embed each valid clip (subclasses
    define ``embed_clips``), classify it into the shared tag targets, keep padded clips at zero.
    Subclasses set ``clip_ndim`` (input rank), ``input_doc`` (for errors), ``config`` and ``tag_head``."""

    clip_ndim: int
    input_doc: str

    def forward(self, clips: Tensor, mask: Tensor | None = None) -> ClipEncoderOutput:
        if clips.ndim != self.clip_ndim:
            raise ValueError(f"expected clips {self.input_doc}, got {tuple(clips.shape)}")
        embeddings, logits = run_on_valid_clips(
            self._embed_and_classify, clips, mask, (self.config.d_model, self.config.n_targets)
        )
        return ClipEncoderOutput(embeddings, logits)

    def _embed_and_classify(self, frames: Tensor) -> tuple[Tensor, Tensor]:
        embeddings = self.embed_clips(frames)
        return embeddings, self.tag_head(embeddings)
