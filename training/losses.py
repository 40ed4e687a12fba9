"""Training losses as pure functions of tensors (no model, no state).

Shape letters: ``B`` batch, ``n`` clips, ``T`` targets, ``D`` feature width. ``positive_mask``
[B, B] is True where video i and music j are a true pair (the diagonal and any other item
with the same music), so such pairs are never used as negatives.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor


def multilabel_bce(logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
    """Multi-label BCE of clip logits [B, n, T] against targets [B, n, T] in [0, 1], mean over the
    valid clips (``mask`` [B, n]) and the targets."""
    per_clip = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(dim=-1)
    if mask is None:
        return per_clip.mean()
    weights = mask.to(per_clip.dtype)
    return (per_clip * weights).sum() / weights.sum().clamp_min(1.0)


def masked_mse(prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean squared error of [B, n, D] tensors over the valid clips (``mask`` [B, n])."""
    per_clip = (prediction - target).pow(2).mean(dim=-1)
    if mask is None:
        return per_clip.mean()
    weights = mask.to(per_clip.dtype)
    return (per_clip * weights).sum() / weights.sum().clamp_min(1.0)


def _positives(sim: Tensor, positive_mask: Tensor | None) -> Tensor:
    eye = torch.eye(sim.shape[0], dtype=torch.bool, device=sim.device)
    return eye if positive_mask is None else positive_mask | eye


def hardest_negative_ranking_loss(sim: Tensor, *, margin: float, positive_mask: Tensor | None = None) -> Tensor:
    """Bidirectional hinge loss with the hardest in-batch negative (VSE++ / VM-NET).

    ``sim`` [B, B] holds similarities of video i (rows) and music j (columns); the true pair of
    row i is column i. Returns mean_i max_j [margin + s_ij − s_ii]₊ (video→music) plus
    mean_j max_i [margin + s_ij − s_jj]₊ (music→video), over negatives only.
    """
    positives = _positives(sim, positive_mask)
    diagonal = sim.diagonal()
    video_to_music = (margin + sim - diagonal[:, None]).clamp_min(0).masked_fill(positives, 0.0)
    music_to_video = (margin + sim - diagonal[None, :]).clamp_min(0).masked_fill(positives, 0.0)
    return video_to_music.max(dim=1).values.mean() + music_to_video.max(dim=0).values.mean()


def symmetric_info_nce(sim: Tensor, *, temperature: float, positive_mask: Tensor | None = None) -> Tensor:
    """Symmetric in-batch InfoNCE: mean of the video→music and music→video cross-entropies of
    ``sim / temperature`` [B, B] with the diagonal as targets. Other true pairs (off-diagonal
    positives) are left out of the denominators."""
    positives = _positives(sim, positive_mask)
    eye = torch.eye(sim.shape[0], dtype=torch.bool, device=sim.device)
    logits = (sim / temperature).masked_fill(positives & ~eye, float("-inf"))
    target = torch.arange(sim.shape[0], device=sim.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def triplet_text_loss(prediction: Tensor, text: Tensor, *, margin: float, same_text: Tensor | None = None) -> Tensor:
    """Triplet loss in the tag-text space: [margin − cos(p_i, t_i) + max_j cos(p_i, t_j)]₊, mean over i.

    ``prediction`` [B, D] are embeddings projected to the text space, ``text`` [B, D] the items'
    tag-text embeddings; negatives j are items whose text differs (``same_text`` [B, B] False).
    Rows without any negative contribute 0.
    """
    cos = F.normalize(prediction, dim=-1) @ F.normalize(text, dim=-1).T  # [B, B]
    positives = _positives(cos, same_text)
    hardest = cos.masked_fill(positives, float("-inf")).max(dim=1).values
    has_negative = torch.isfinite(hardest)
    losses = (margin - cos.diagonal() + hardest.clamp_min(-1.0)).clamp_min(0) * has_negative.to(cos.dtype)
    return losses.mean()


def match_classifier_loss(positive_logits: Tensor, negative_logits: Tensor, negative_valid: Tensor | None = None) -> Tensor:
    """BCE of the match head: true pairs [B] labelled 1, negative pairs [B] labelled 0 (those with
    ``negative_valid`` False are left out). The two halves are averaged."""
    positive = F.binary_cross_entropy_with_logits(positive_logits, torch.ones_like(positive_logits))
    negative = F.binary_cross_entropy_with_logits(negative_logits, torch.zeros_like(negative_logits), reduction="none")
    if negative_valid is not None:
        weights = negative_valid.to(negative.dtype)
        negative = (negative * weights).sum() / weights.sum().clamp_min(1.0)
    else:
        negative = negative.mean()
    return 0.5 * (positive + negative)


def pick_negatives(sim: Tensor, *, positive_mask: Tensor | None = None,
                   mode: Literal["hardest", "random"] = "hardest",
                   generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """For each video i, a music index j that is *not* a true pair: the most similar one
    (``hardest``) or a uniform draw (``random``). Returns (index long [B], valid bool [B]);
    rows without any negative get their own index and ``valid`` False."""
    positives = _positives(sim, positive_mask)
    negatives = ~positives
    valid = negatives.any(dim=1)
    if mode == "hardest":
        scores = sim.detach().masked_fill(positives, float("-inf"))
    else:
        noise = torch.rand(sim.shape, generator=generator, device="cpu").to(sim.device)
        scores = noise.masked_fill(positives, -1.0)
    index = scores.argmax(dim=1)
    own = torch.arange(sim.shape[0], device=sim.device)
    return torch.where(valid, index, own), valid
