"""Stage 2: unified-target pretraining of the music and video encoders (paper §3).

Both encoders predict the same target set for each clip with a multi-label BCE: the tag
vocabulary (the engine tagger's probabilities of the pair's music clip as soft targets, plus
the pair's human tags), or in the ablation pseudo-tags from the pair's music (``[targets]
source``). The video clip learns the targets of the music clip it was cut to. Clip-level
outputs are kept (no pooling before the loss).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from bgmatch.engine.config import config_to_dict
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.learned.models import MusicEncoder, VideoEncoder, load_model, save_model

from .checkpointing import fingerprint
from .config import TrainConfig, with_steps
from .dataset import PreparedData, TargetSet, batch_indices, pretrain_batch, pretrain_samples, rank_slice
from .distributed import DistContext, barrier
from .loop import CancelFn, LoopResult, ProgressFn, make_optimizer, train_loop
from .losses import multilabel_bce
from .metrics_log import MetricsLog
from .models import model_configs


class EncoderPretrainer(nn.Module):
    """Both encoders under one module (one DDP wrapper); ``forward`` returns the loss parts."""

    def __init__(self, music: MusicEncoder, video: VideoEncoder, encoders: tuple[str, ...]) -> None:
        super().__init__()
        self.music = music
        self.video = video
        self.encoders = encoders

    def forward(self, mel: Tensor, frames: Tensor, targets: Tensor) -> dict[str, Tensor]:
        """``mel`` [B, F, n_mels], ``frames`` [B, frames_per_clip, S, S], ``targets`` [B, T] → losses."""
        parts: dict[str, Tensor] = {}
        if "music" in self.encoders:
            parts["music_bce"] = multilabel_bce(self.music(mel[:, None]).tag_logits, targets[:, None])
        if "video" in self.encoders:
            parts["video_bce"] = multilabel_bce(self.video(frames[:, None]).tag_logits, targets[:, None])
        parts["loss"] = sum(parts.values())  # type: ignore[assignment]
        return parts


@dataclass
class PretrainResult:
    music: MusicEncoder
    video: VideoEncoder
    loop: LoopResult | None


def encoder_paths(config: TrainConfig) -> tuple[Path, Path]:
    folder = config.out_dir / "pretrain"
    return folder / "music.pt", folder / "video.pt"


def run_pretrain(config: TrainConfig, data: PreparedData, targets: TargetSet, context: DistContext, log: MetricsLog,
                 *, progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> PretrainResult:
    """Pretrain (or resume pretraining) the encoders; save them to ``<out_dir>/pretrain/``."""
    music_path, video_path = encoder_paths(config)
    stage_fingerprint = pretrain_fingerprint(config)
    if music_path.exists() and video_path.exists():
        music_loaded = load_model(music_path, kind="music", map_location=context.device)
        if music_loaded.extra.get("fingerprint") != stage_fingerprint:
            raise ConfigError(f"{music_path.parent}: these encoders were pretrained with a different config; use "
                              f"another run.out_dir, or delete that folder and state/pretrain.pt to pretrain again")
        video = load_model(video_path, kind="video", map_location=context.device).model
        return PretrainResult(music_loaded.model, video, None)  # type: ignore[arg-type]
    music_config, video_config, _ = model_configs(config, n_targets=len(targets.names), text_dim=1)
    torch.manual_seed(config.run.seed)
    music, video = MusicEncoder(music_config).to(context.device), VideoEncoder(video_config).to(context.device)
    result = None
    items = data.items("train")
    samples = pretrain_samples(data, items, max_clips=config.match.max_clips)
    p = with_steps(config.pretrain, len(samples))
    if p.enabled and p.steps > 0:
        module = EncoderPretrainer(music, video, p.encoders)
        for name in ("music", "video"):
            if name not in p.encoders:
                getattr(module, name).requires_grad_(False)
        trained: nn.Module = DistributedDataParallel(module) if context.distributed else module
        optimizer, scheduler = make_optimizer([q for q in module.parameters() if q.requires_grad], p)

        def step_fn(step: int) -> dict[str, Tensor]:
            index = batch_indices(step, n_samples=len(samples), batch_size=p.batch_size, seed=config.run.seed)
            local = rank_slice(index, rank=context.rank, world_size=context.world_size)
            batch = pretrain_batch(data, items, [samples[i] for i in local], targets)
            return trained(*(batch[k].to(context.device) for k in ("mel", "frames", "targets")))

        result = train_loop(stage="pretrain", config=p, step_fn=step_fn, trained=trained,
                            saved={"music": music, "video": video}, optimizer=optimizer, scheduler=scheduler,
                            state_path=config.out_dir / "state" / "pretrain.pt",
                            config_fingerprint=stage_fingerprint, context=context, log=log,
                            progress=progress, cancel=cancel)
        if result.cancelled:
            return PretrainResult(music.eval(), video.eval(), result)
    if context.is_main:
        extra = {"targets": targets.names, "target_kind": targets.kind, "fingerprint": stage_fingerprint}
        save_model(music_path, music, music_config, kind="music", extra=extra)
        save_model(video_path, video, video_config, kind="video", extra=extra)
    barrier(context)
    return PretrainResult(music.eval(), video.eval(), result)


def pretrain_fingerprint(config: TrainConfig) -> str:
    """What a pretraining state depends on (not the device, the data paths or later stages)."""
    encoders = {k: v for k, v in config_to_dict(config.model).items() if k != "matching"}  # not a matching setting
    return fingerprint({k: config_to_dict(getattr(config, k)) for k in ("features", "targets", "pretrain")}
                       | {"model": encoders, "seed": config.run.seed, "max_clips": config.match.max_clips})

