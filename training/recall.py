"""Video→music retrieval metrics of a matching model over prepared items (Recall@k, median rank).

Scores follow ``engine.embed.ScoreConfig``: cosine of the pooled embeddings plus cosine of both
sides projected to the tag-text space (never the query's own tags) plus, optionally, the mean
cosine of aligned clips. The gallery is a list of music ids; the truth is only used to rank.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from bgmatch.engine.learned.bundle import ScoreConfig
from bgmatch.engine.learned.models import MatchingModel

from .clip_features import ClipFeatureTable, ClipRows
from .dataset import Item


def _padded(rows: list[ClipRows], max_clips: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """→ features [n, N, D], tokens [n, N(, 3)], periodicity [n, N, P], mask [n, N]."""
    n = len(rows)
    features = torch.zeros(n, max_clips, rows[0][0].shape[1])
    tokens = torch.zeros((n, max_clips, *rows[0][1].shape[1:]), dtype=torch.int64)
    periodicity = torch.zeros(n, max_clips, rows[0][2].shape[1])
    mask = torch.zeros(n, max_clips, dtype=torch.bool)
    for i, (f, t, p) in enumerate(rows):
        k = min(len(f), max_clips)
        features[i, :k] = torch.from_numpy(f[:k])
        tokens[i, :k] = torch.from_numpy(np.asarray(t[:k]))
        periodicity[i, :k] = torch.from_numpy(np.asarray(p[:k], np.float32))
        mask[i, :k] = True
    return features.to(device), tokens.to(device), periodicity.to(device), mask.to(device)


@torch.no_grad()
def score_matrix(model: MatchingModel, table: ClipFeatureTable, video_ids: Sequence[str], music_ids: Sequence[str], *,
                 score: ScoreConfig, max_clips: int, device: torch.device) -> np.ndarray:
    """Scores [n_videos, n_music] of every video against every music (first ``max_clips`` clips)."""
    model.eval()
    v_feat, v_tok, v_per, v_mask = _padded([table.video[i] for i in video_ids], max_clips, device)
    m_feat, m_tok, m_per, m_mask = _padded([table.music[i] for i in music_ids], max_clips, device)
    video = model.encode_video(v_feat, v_tok, v_mask, v_per)
    music = model.encode_music(m_feat, m_tok, m_mask, m_per)
    v_pooled, m_pooled = model.pooled(video, v_mask), model.pooled(music, m_mask)
    scores = score.pooled_weight * (v_pooled @ m_pooled.T)
    if score.text_weight:
        v_text = F.normalize(model.project_to_text(v_pooled), dim=-1)
        m_text = F.normalize(model.project_to_text(m_pooled), dim=-1)
        scores = scores + score.text_weight * (v_text @ m_text.T)
    if score.aligned_weight:
        aligned = torch.stack([
            model.clip_similarity(video[q:q + 1].expand(len(music), -1, -1), music,
                                  video_mask=v_mask[q:q + 1].expand(len(music), -1), music_mask=m_mask)
            for q in range(len(video))
        ])
        scores = scores + score.aligned_weight * aligned
    return scores.cpu().numpy()


def ranks_of_truth(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """1-based rank of the true column ``truth`` [Q] in each row of ``scores`` [Q, G] (ties count against)."""
    true_scores = scores[np.arange(len(truth)), truth]
    return (scores >= true_scores[:, None]).sum(axis=1)


def retrieval_metrics(ranks: np.ndarray, *, ks: Sequence[int]) -> dict[str, float]:
    """``recall@k`` for each k, ``median_rank`` and ``mean_rank`` of 1-based ``ranks``."""
    out = {f"recall@{k}": float(np.mean(ranks <= k)) for k in ks}
    out["median_rank"] = float(np.median(ranks))
    out["mean_rank"] = float(np.mean(ranks))
    return out


def evaluate_items(model: MatchingModel, table: ClipFeatureTable, items: Sequence[Item], *, ks: Sequence[int],
                   score: ScoreConfig, max_clips: int, device: torch.device,
                   gallery: Sequence[str] | None = None) -> dict[str, float]:
    """Retrieval metrics of ``items`` (queries: their videos) against their music segments plus
    ``gallery`` (music ids, from 0 s)."""
    music_ids = sorted({item.segment for item in items} | set(gallery or ()))
    column = {m: i for i, m in enumerate(music_ids)}
    queries = list(items)
    scores = score_matrix(model, table, [q.video_id for q in queries], music_ids, score=score, max_clips=max_clips,
                          device=device)
    truth = np.array([column[q.segment] for q in queries])
    metrics = retrieval_metrics(ranks_of_truth(scores, truth), ks=ks)
    metrics["n_queries"], metrics["gallery_size"] = float(len(queries)), float(len(music_ids))
    return metrics
