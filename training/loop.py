"""The optimisation loop both training stages share: resume, step, log, validate, checkpoint, cancel."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .checkpointing import load_state, restore, save_state
from .config import OptimConfig
from .distributed import DistContext, barrier, broadcast_flag, mean_over_processes
from .metrics_log import MetricsLog

ProgressFn = Callable[[dict[str, Any]], None]
CancelFn = Callable[[], bool]
StepFn = Callable[[int], dict[str, Tensor]]
ValidateFn = Callable[[int], dict[str, float]]


@dataclass
class LoopResult:
    """How a stage's loop ended."""

    step: int
    finished: bool
    cancelled: bool = False
    last: dict[str, float] = field(default_factory=dict)


def progress_event(stage: str, step: int, total: int, values: dict[str, float]) -> dict[str, Any]:
    """A progress event: stage, step, total, fraction and the scalars, plus ``recall@K`` aliases
    of the validation recall (the training pairs' when there is no validation split)."""
    event: dict[str, Any] = {"stage": stage, "step": step, "total": total, "fraction": step / max(total, 1), **values}
    for key, value in values.items():
        for prefix in ("val_", "train_"):
            if key.startswith(prefix + "recall@"):
                alias = key[len(prefix):]
                if prefix == "val_" or f"val_{alias}" not in values:
                    event[alias] = value
    return event


def make_optimizer(parameters: list[nn.Parameter], config: OptimConfig
                   ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """Adam with exponential learning-rate decay (``lr_decay_rate`` per ``lr_decay_steps``)."""
    optimizer = torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    gamma = math.exp(math.log(config.lr_decay_rate) / config.lr_decay_steps)
    return optimizer, torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)


def train_loop(*, stage: str, config: OptimConfig, step_fn: StepFn, trained: nn.Module,
               saved: dict[str, nn.Module], optimizer: torch.optim.Optimizer,
               scheduler: torch.optim.lr_scheduler.LRScheduler, state_path: Path, config_fingerprint: str,
               context: DistContext, log: MetricsLog, progress: ProgressFn | None = None,
               cancel: CancelFn | None = None, validate: ValidateFn | None = None, valid_every: int = 0) -> LoopResult:
    """Run ``config.steps`` optimisation steps of ``step_fn`` (which returns ``{"loss": …, parts…}``).

    Resumes from ``state_path`` when it holds this stage's state; checkpoints there every
    ``config.checkpoint_every`` steps, on cancel and at the end. ``validate`` (main process only)
    runs before the first step, every ``valid_every`` steps and at the end. ``cancel`` is read on the main process and
    broadcast, so every process stops at the same step.
    """
    state = load_state(state_path, stage=stage, config_fingerprint=config_fingerprint)
    start = 0
    if state is not None:
        start = restore(state, models=saved, optimizer=optimizer, scheduler=scheduler)
        if state["finished"]:
            return LoopResult(start, finished=True)
    log.truncate(stage, after_step=start)
    parameters = [p for p in trained.parameters() if p.requires_grad]

    def checkpoint(step: int, finished: bool) -> None:
        if context.is_main:
            save_state(state_path, stage=stage, step=step, finished=finished, config_fingerprint=config_fingerprint,
                       models=saved, optimizer=optimizer, scheduler=scheduler)
        barrier(context)

    last: dict[str, float] = {}
    if start == 0 and validate is not None and valid_every and context.is_main:
        log.log(stage, 0, validate(0))  # the untrained baseline
    for step in range(start, config.steps):
        if broadcast_flag(context, cancel is not None and context.is_main and cancel()):
            checkpoint(step, finished=False)
            return LoopResult(step, finished=False, cancelled=True, last=last)
        trained.train()
        optimizer.zero_grad(set_to_none=True)
        parts = step_fn(step)
        parts["loss"].backward()
        if config.grad_clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(parameters, config.grad_clip_norm)
        optimizer.step()
        scheduler.step()
        done = step + 1
        final = done == config.steps
        if (config.log_every and done % config.log_every == 0) or final or done == start + 1:
            last = mean_over_processes(context, {name: value.detach() for name, value in parts.items()})
            last["lr"] = scheduler.get_last_lr()[0]
            if validate is not None and context.is_main and valid_every and (done % valid_every == 0 or final):
                last.update(validate(done))
            if context.is_main:
                log.log(stage, done, last)
                if progress is not None:
                    progress(progress_event(stage, done, config.steps, last))
        elif validate is not None and context.is_main and valid_every and done % valid_every == 0:
            values = validate(done)
            log.log(stage, done, values)
        if (config.checkpoint_every and done % config.checkpoint_every == 0) and not final:
            checkpoint(done, finished=False)
    checkpoint(config.steps, finished=True)
    return LoopResult(config.steps, finished=True, last=last)
