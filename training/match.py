"""Stage 3: matching training on clip features (rhythm tokens on music clips, flow tokens on
video clips) with the paper's losses and a symmetric in-batch InfoNCE, each switchable.

Every process encodes its share of the global batch, then the clip embeddings are gathered
(with gradients) and every process computes the same loss of the whole global batch, so a DDP
run takes the same steps as one process with the same ``batch_size`` (``distributed.gather``).
Negatives are always other items whose music differs from the positive's.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from bgmatch.engine.config import config_to_dict
from bgmatch.engine.learned.bundle import ScoreConfig
from bgmatch.engine.learned.models import MatchingConfig, MatchingModel, save_model

from .checkpointing import fingerprint
from .clip_features import ClipFeatureTable
from .config import LossConfig, TrainConfig, with_steps
from .dataset import Item, PreparedData, TargetSet, batch_indices, rank_slice
from .distributed import DistContext, barrier, gather
from .loop import CancelFn, LoopResult, ProgressFn, make_optimizer, train_loop
from .losses import (
    hardest_negative_ranking_loss,
    masked_mse,
    match_classifier_loss,
    pick_negatives,
    symmetric_info_nce,
    triplet_text_loss,
)
from .metrics_log import MetricsLog
from .pretrain import pretrain_fingerprint
from .recall import evaluate_items

_HEADS = {"triplet": ("text_projection",), "reconstruction": ("video_reconstruction", "music_reconstruction"),
          "classifier": ("video_to_music", "music_to_video", "match_head")}


def match_batch(table: ClipFeatureTable, items: list[Item], data: PreparedData, targets: TargetSet,
                music_index: dict[str, int], *, max_clips: int) -> dict[str, Tensor]:
    """Pad the items' clip features to ``max_clips``: ``video`` [b, N, Dv], ``video_mask`` [b, N],
    ``flow`` [b, N], ``video_periodicity`` [b, N, P], ``music`` [b, N, Dm], ``music_mask``,
    ``rhythm`` [b, N, 3], ``music_periodicity`` [b, N, P], ``music_key`` [b] (music segment
    identity, for positives) and ``text`` [b, text_dim]."""
    def pad(rows: list[np.ndarray], tail: tuple[int, ...], dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        out = torch.zeros((len(rows), max_clips, *tail), dtype=dtype)
        mask = torch.zeros((len(rows), max_clips), dtype=torch.bool)
        for i, row in enumerate(rows):
            n = min(len(row), max_clips)
            out[i, :n] = torch.from_numpy(np.asarray(row[:n]))
            mask[i, :n] = True
        return out, mask

    videos = [table.video[item.video_id] for item in items]
    musics = [table.music[item.segment] for item in items]
    video, video_mask = pad([v[0] for v in videos], videos[0][0].shape[1:], torch.float32)
    flow, _ = pad([v[1] for v in videos], (), torch.int64)
    music, music_mask = pad([m[0] for m in musics], musics[0][0].shape[1:], torch.float32)
    rhythm, _ = pad([m[1] for m in musics], (3,), torch.int64)
    video_periodicity, _ = pad([v[2] for v in videos], videos[0][2].shape[1:], torch.float32)
    music_periodicity, _ = pad([m[2] for m in musics], musics[0][2].shape[1:], torch.float32)
    text = torch.from_numpy(np.stack([data.text(targets.text_key(item)) for item in items]))
    key = torch.tensor([music_index[item.segment] for item in items], dtype=torch.int64)
    return {"video": video, "video_mask": video_mask, "flow": flow, "music": music, "music_mask": music_mask,
            "rhythm": rhythm, "music_key": key, "text": text, "video_periodicity": video_periodicity,
            "music_periodicity": music_periodicity}


class MatchingTrainer(nn.Module):
    """The matching model and its losses; ``forward(batch, step)`` returns ``{"loss", parts…}``."""

    def __init__(self, model: MatchingModel, losses: LossConfig, *, seed: int) -> None:
        super().__init__()
        self.model = model
        self.losses = losses
        self.seed = seed
        for loss, heads in _HEADS.items():
            if getattr(losses, loss) == 0:  # unused heads get no gradient: keep DDP consistent
                for head in heads:
                    getattr(model, head).requires_grad_(False)

    def forward(self, batch: dict[str, Tensor], step: int) -> dict[str, Tensor]:
        m, w = self.model, self.losses
        video = m.encode_video(batch["video"], batch["flow"], batch["video_mask"], batch["video_periodicity"])
        music = m.encode_music(batch["music"], batch["rhythm"], batch["music_mask"], batch["music_periodicity"])
        video, music = gather(video, with_grad=True), gather(music, with_grad=True)
        g = {k: gather(batch[k]) for k in ("video", "video_mask", "music", "music_mask", "music_key", "text")}
        video_pooled, music_pooled = m.pooled(video, g["video_mask"]), m.pooled(music, g["music_mask"])
        sim = video_pooled @ music_pooled.T  # [B, B] cosine: pooled embeddings are unit vectors
        positives = g["music_key"][:, None] == g["music_key"][None, :]
        parts: dict[str, Tensor] = {}
        if w.ranking:
            parts["ranking"] = hardest_negative_ranking_loss(sim, margin=w.ranking_margin, positive_mask=positives)
        if w.infonce:
            parts["infonce"] = symmetric_info_nce(sim, temperature=w.temperature, positive_mask=positives)
        if w.triplet:
            text = F.normalize(g["text"], dim=-1)
            same_text = (text @ text.T) > 1.0 - 1e-5
            parts["triplet"] = (
                triplet_text_loss(m.project_to_text(video_pooled), text, margin=w.triplet_margin, same_text=same_text)
                + triplet_text_loss(m.project_to_text(music_pooled), text, margin=w.triplet_margin, same_text=same_text)
            )
        if w.reconstruction:
            parts["reconstruction"] = (masked_mse(m.video_reconstruction(video), g["video"], g["video_mask"])
                                       + masked_mse(m.music_reconstruction(music), g["music"], g["music_mask"]))
        if w.classifier:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
            negative, valid = pick_negatives(sim, positive_mask=positives, mode=w.classifier_negatives,
                                             generator=generator)
            positive_logits = m.match_logits(video, music, video_mask=g["video_mask"], music_mask=g["music_mask"])
            negative_logits = m.match_logits(video, music[negative], video_mask=g["video_mask"],
                                             music_mask=g["music_mask"][negative])
            parts["classifier"] = match_classifier_loss(positive_logits, negative_logits, valid)
        parts["loss"] = sum(getattr(w, name) * value for name, value in parts.items())  # type: ignore[assignment]
        return parts


def effective_score(config: TrainConfig) -> ScoreConfig:
    """The eval score, without the text term when the text projection was not trained."""
    score = config.eval.score
    return dataclasses.replace(score, text_weight=0.0) if config.match.losses.triplet == 0 else score


def match_fingerprint(config: TrainConfig) -> str:
    return fingerprint({"pretrain": pretrain_fingerprint(config), "match": config_to_dict(config.match),
                        "model": config_to_dict(config.model)})


def run_match(config: TrainConfig, data: PreparedData, targets: TargetSet, table: ClipFeatureTable,
              matching_config: MatchingConfig, context: DistContext, log: MetricsLog, *,
              progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> tuple[MatchingModel, LoopResult | None]:
    """Train (or resume training) the matching model; save it to ``<out_dir>/match/matching.pt``."""
    path = matching_path(config)
    items = data.items("train")
    c = with_steps(config.match, len(items))
    torch.manual_seed(config.run.seed + 1)
    model = MatchingModel(matching_config).to(context.device)
    music_index = {m: i for i, m in enumerate(sorted({item.segment for item in items}))}
    trainer = MatchingTrainer(model, c.losses, seed=config.run.seed)
    trained: nn.Module = DistributedDataParallel(trainer) if context.distributed else trainer
    optimizer, scheduler = make_optimizer([p for p in trainer.parameters() if p.requires_grad], c)
    valid_items = data.items("valid")
    score = effective_score(config)

    def step_fn(step: int) -> dict[str, Tensor]:
        index = batch_indices(step, n_samples=len(items), batch_size=c.batch_size, seed=config.run.seed + 1)
        local = [items[i] for i in rank_slice(index, rank=context.rank, world_size=context.world_size)]
        batch = match_batch(table, local, data, targets, music_index, max_clips=c.max_clips)
        return trained({k: v.to(context.device) for k, v in batch.items()}, step)

    def validate(step: int) -> dict[str, float]:
        out = {}
        for split, split_items in (("train", items), ("val", valid_items)):
            if split_items:
                metrics = evaluate_items(model, table, split_items, ks=(1, 10), score=score,
                                         max_clips=c.max_clips, device=context.device)
                out.update({f"{split}_{k}": v for k, v in metrics.items() if k.startswith("recall")})
        return out

    result = None
    if c.enabled and c.steps > 0:
        result = train_loop(stage="match", config=c, step_fn=step_fn, trained=trained, saved={"matching": model},
                            optimizer=optimizer, scheduler=scheduler, state_path=config.out_dir / "state" / "match.pt",
                            config_fingerprint=match_fingerprint(config), context=context, log=log,
                            progress=progress, cancel=cancel, validate=validate, valid_every=c.valid_every)
    model.eval()
    if context.is_main and (result is None or result.finished):
        save_model(path, model, matching_config, kind="matching")
    barrier(context)
    return model, result


def matching_path(config: TrainConfig) -> Path:
    return config.out_dir / "match" / "matching.pt"
