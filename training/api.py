"""The training package's typed entry for programs (the app): :func:`run_training` and its events.

The one module of ``bgmatch.training`` the app imports. It runs the stages of a
:class:`TrainConfig` (for an editor's folder of past edits, :func:`editor_config` makes one) and reports in the engine's progress
protocol, ``progress(done, total, message)`` with ``cancel()``, plus one typed
:class:`TrainingMetrics` per logged step. It knows nothing of who calls it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bgmatch.engine.progress import CancelFn, ProgressFn

from .config import STAGES, TrainConfig, editor_config
from .pipeline import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "TrainingMetrics", "editor_config", "metrics_of", "run_training"]

#: Keys of a pipeline event that hold a loss, and the name :attr:`TrainingMetrics.losses` gives them.
LOSS_NAMES = {"loss": "train", "train_loss": "train", "val_loss": "validation", "valid_loss": "validation"}


@dataclass(frozen=True)
class TrainingMetrics:
    """What a training run reports at a step (and once per evaluated split, at the last step).

    ``losses``: ``"train"``, ``"validation"`` and the training loss's parts (``"loss_triplet"``, …);
    ``recalls``: recall@K by K, on the validation split (the training pairs' when there is none);
    ``message``: a line for a log ("" when none); ``model_path``: the bundle folder once saved.
    """

    stage: str
    step: int
    total: int
    losses: dict[str, float] = field(default_factory=dict)
    recalls: dict[int, float] = field(default_factory=dict)
    message: str = ""
    model_path: str | None = None


def metrics_of(event: Mapping[str, Any], *, step: int = 0, total: int = 0) -> TrainingMetrics:
    """The typed form of one of the pipeline's events (``step``/``total``: where the run was, for
    events that carry none)."""
    losses: dict[str, float] = {}
    recalls: dict[int, float] = {}
    for key, value in event.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if key in LOSS_NAMES:
            losses.setdefault(LOSS_NAMES[key], float(value))
        elif key.startswith("loss_"):
            losses[key] = float(value)
        name, _, k = key.partition("@")
        if name == "recall" and k.isdigit():
            recalls[int(k)] = float(value)
    return TrainingMetrics(str(event.get("stage", "")), int(event.get("step", step)), int(event.get("total", total)),
                           losses, recalls, str(event.get("message", "")),
                           str(event["model_path"]) if event.get("model_path") else None)


def run_training(config: TrainConfig, *, progress: ProgressFn | None = None,
                 on_metrics: Callable[[TrainingMetrics], None] | None = None, cancel: CancelFn | None = None,
                 stages: Sequence[str] = STAGES, device: str | None = None) -> TrainResult:
    """Run the ``stages`` of ``config``; returns what the run produced (``bundle_dir``: the new model).

    ``progress(done, total, message)`` counts the steps of the current stage; ``on_metrics`` gets
    every logged step, message and evaluation; ``cancel()`` stops at the next step with the state
    saved (the same call resumes). ``device`` overrides ``config.run.device``. No terminal bar.
    """
    where = {"step": 0, "total": 0}

    def forward(event: dict[str, Any]) -> None:
        if "step" in event:
            where.update(step=int(event["step"]), total=int(event.get("total", 0)))
            if progress is not None:
                progress(where["step"], where["total"], f"{event.get('stage', '')} step {where['step']}/{where['total']}")
        if on_metrics is not None:
            on_metrics(metrics_of(event, **where))

    return train(config, forward, cancel, device=device, stages=stages, show_bar=False)
