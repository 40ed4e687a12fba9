"""Process-group setup for ``torchrun`` (DDP) and the collectives the training losses need.

Without ``torchrun`` (no ``WORLD_SIZE`` in the environment) everything runs in one process and
the collectives are identities. Backend: NCCL on CUDA, gloo on CPU.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

from bgmatch.engine.errors import ConfigError


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, *, local_rank: int = 0) -> torch.device:
    """``auto`` → CUDA (this process's GPU) when available, else CPU; otherwise the named device."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ConfigError(f"[run] device {name!r} is not a torch device ({error})") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"[run] device {name!r} asked for, but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


def init_distributed(device_name: str = "auto") -> DistContext:
    """Join the ``torchrun`` process group when there is one; return this process's context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank=local_rank)
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank, world_size, local_rank, device)


def shutdown(context: DistContext) -> None:
    """Leave the process group (if this process joined one)."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(context: DistContext) -> None:
    if context.distributed:
        dist.barrier()


def broadcast_flag(context: DistContext, value: bool) -> bool:
    """Rank 0's ``value`` on every rank (e.g. a cancel request seen only by rank 0)."""
    if not context.distributed:
        return value
    flag = torch.tensor([1 if value else 0], dtype=torch.int64)
    if dist.get_backend() == "nccl":
        flag = flag.to(context.device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def mean_over_processes(context: DistContext, values: dict[str, Tensor]) -> dict[str, float]:
    """Scalars averaged over the processes (for logging; every process must call it)."""
    if not values:
        return {}
    stacked = torch.stack([v.detach().float().reshape(()) for v in values.values()])
    if context.distributed:
        dist.all_reduce(stacked)
        stacked = stacked / context.world_size
    return dict(zip(values, stacked.cpu().tolist()))


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums every rank's gradient of this rank's slice."""

    @staticmethod
    def forward(ctx, tensor: Tensor) -> Tensor:  # type: ignore[override]
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor.contiguous())
        ctx.rank, ctx.size = dist.get_rank(), tensor.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.size:(ctx.rank + 1) * ctx.size]


def gather(tensor: Tensor, *, with_grad: bool = False) -> Tensor:
    """Concatenate ``tensor`` [b, ...] of every rank in rank order → [world_size · b, ...].

    With ``with_grad`` the gradient flows back to each rank's slice, summed over the ranks:
    when every rank computes the same loss L of the gathered batch, DDP's gradient averaging
    then yields exactly ∂L/∂θ, as a single process on the whole batch would.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    if with_grad:
        return _GatherWithGrad.apply(tensor)
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)
