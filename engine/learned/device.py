"""Where models and the index run: CUDA when present, else the CPU, with one override.

``pick_device(None)`` or ``pick_device("auto")`` chooses CUDA device 0 when torch sees one
(then the ``BGMATCH_DEVICE`` environment variable, if set, decides first); ``"cpu"``,
``"cuda"``, ``"cuda:N"`` and ``"mps"`` name a device and fail clearly when it is missing. The
same choice decides whether the faiss index searches on the GPU (:func:`faiss_use_gpu`).
"""
from __future__ import annotations

import os
from typing import Callable

import torch

from ..errors import ConfigError

ENV_VAR = "BGMATCH_DEVICE"


def pick_device(override: str | torch.device | None = None) -> torch.device:
    """The torch device to run encoders on.

    ``override`` None or ``"auto"`` (after ``$BGMATCH_DEVICE``): ``cuda`` when available, else
    ``cpu``. A named device that this machine lacks raises :class:`ConfigError`.
    """
    choice = override if override is not None else os.environ.get(ENV_VAR) or "auto"
    if isinstance(choice, torch.device):
        choice = str(choice)
    choice = choice.strip().lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(choice)
    except RuntimeError:
        raise ConfigError(f"unknown device {choice!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {choice!r} asked for, but torch sees no CUDA device "
                              f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'})")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {choice!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ConfigError("device 'mps' asked for, but torch sees no Metal device")
    elif device.type != "cpu":
        raise ConfigError(f"unsupported device {choice!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def describe_device(device: torch.device) -> str:
    """A short human description, e.g. ``"cuda:0 (NVIDIA H200)"`` or ``"cpu (2 threads)"``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def faiss_use_gpu(device: torch.device) -> bool | None:
    """The index's ``use_gpu`` for a device choice: auto on CUDA, never on the CPU or MPS."""
    return None if device.type == "cuda" else False


def default_batch_size(device: torch.device, *, cpu: int = 16, cuda: int = 256) -> int:
    """Items per encoder batch: small on the CPU (cache-friendly), large on CUDA (fills the GPU)."""
    return cuda if device.type == "cuda" else cpu


@torch.inference_mode()
def encode_in_batches(encode: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor, *,
                      device: torch.device, batch_size: int | None = None) -> torch.Tensor:
    """Run ``encode`` over ``inputs`` ``[N, …]`` in batches on ``device``; float32 ``[N, …]`` on the CPU.

    On CUDA each batch is copied from pinned memory without blocking, so the copy of the next
    batch overlaps the work on the current one.
    """
    size = batch_size or default_batch_size(device)
    if size < 1:
        raise ConfigError(f"batch size must be at least 1, got {size}")
    cuda = device.type == "cuda"
    source = inputs.pin_memory() if cuda and not inputs.is_pinned() else inputs
    outputs = [encode(source[i:i + size].to(device, non_blocking=cuda)).float().cpu()
               for i in range(0, len(inputs), size)]
    if not outputs:
        raise ConfigError("nothing to encode (no inputs)")
    return torch.cat(outputs)
