"""Training state checkpoints: atomic, loadable with ``weights_only=True``, exact to resume.

A state file holds the models' and the optimizer's and scheduler's state dicts, the step, the
torch RNG states (CPU and CUDA) and a fingerprint of the config it was made with. The data
order depends on the step alone (``dataset.batch_indices``), so restoring this state replays
an interrupted run exactly.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bgmatch.engine.errors import ConfigError, ModelError
from bgmatch.engine.learned.models.checkpoint import atomic_torch_save

STATE_FORMAT = "bgmatch-train-state"
STATE_VERSION = 1


def fingerprint(value: Any) -> str:
    """A short stable hash of JSON-able ``value`` (e.g. the parts of a config a stage depends on)."""
    return hashlib.blake2b(json.dumps(value, sort_keys=True).encode(), digest_size=8).hexdigest()


def rng_state() -> dict[str, Any]:
    """The torch RNG states of this process."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(path: str | os.PathLike[str], *, stage: str, step: int, finished: bool, config_fingerprint: str,
               models: dict[str, nn.Module], optimizer: torch.optim.Optimizer,
               scheduler: torch.optim.lr_scheduler.LRScheduler) -> Path:
    """Write the training state atomically (temp file, fsync, rename) and return its path."""
    target = Path(path)
    payload = {
        "format": STATE_FORMAT, "format_version": STATE_VERSION, "stage": stage, "step": step,
        "finished": finished, "config_fingerprint": config_fingerprint,
        "models": {name: {k: v.detach().cpu() for k, v in _unwrap(m).state_dict().items()} for name, m in models.items()},
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_state(),
    }
    atomic_torch_save(payload, target)
    return target


def load_state(path: str | os.PathLike[str], *, stage: str, config_fingerprint: str) -> dict[str, Any] | None:
    """The saved state of ``stage`` at ``path``, or None when there is none.

    Raises ``ConfigError`` when it was made with another config (start a new ``out_dir``, or
    delete the state to restart) and ``ModelError`` when the file is not a state file.
    """
    source = Path(path)
    if not source.is_file():
        return None
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError) as error:
        raise ModelError(f"{source}: unreadable training state ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("stage") != stage:
        raise ModelError(f"{source}: not a bgmatch {stage} training state")
    if state["config_fingerprint"] != config_fingerprint:
        raise ConfigError(f"{source}: this {stage} run was started with a different config; use another "
                          f"run.out_dir, or delete {source.name} to restart the stage")
    return state


def restore(state: dict[str, Any], *, models: dict[str, nn.Module], optimizer: torch.optim.Optimizer,
            scheduler: torch.optim.lr_scheduler.LRScheduler) -> int:
    """Load a saved state into live objects; return the step to continue from."""
    for name, model in models.items():
        _unwrap(model).load_state_dict(state["models"][name])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])
    return int(state["step"])


def _unwrap(model: nn.Module) -> nn.Module:
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, nn.Module) else model
