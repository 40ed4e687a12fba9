"""Case `encoders`: clip embeddings per second of the music and video encoders.

Ours: the chosen device (``--device``; CUDA when present) in batches (:func:`encode_in_batches`).
Reference: the CPU, one clip at a time. On a CUDA machine a second row compares the same
batches on CUDA and on the CPU. Random inputs of the real shapes: 4 s log-mel clips
(400 × 80) and 4-frame video clips (128 px, the ``small`` config).
"""
from __future__ import annotations

import time

import torch

from bgmatch.engine.learned.device import default_batch_size, describe_device, encode_in_batches, pick_device
from bgmatch.engine.learned.models import create_model

from .context import Context
from .report import Row

NAME = "encoders"


def clips_per_s(model: torch.nn.Module, inputs: torch.Tensor, device: torch.device, batch_size: int) -> float:
    """Clips per second of ``model.embed_clips`` over ``inputs`` on ``device`` (after one warm-up batch)."""
    encode_in_batches(model.embed_clips, inputs[:batch_size], device=device, batch_size=batch_size)
    start = time.perf_counter()
    encode_in_batches(model.embed_clips, inputs, device=device, batch_size=batch_size)
    return len(inputs) / (time.perf_counter() - start)


def _inputs(kind: str, n: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    if kind == "music":
        return torch.randn(n, 400, 80, generator=generator)
    return torch.rand(n, 4, 128, 128, generator=generator)


def run(ctx: Context) -> list[Row]:
    """Throughput rows for the music and video encoders."""
    device = pick_device(ctx.device)
    cpu = torch.device("cpu")
    n = 32 if ctx.quick else 128
    rows = []
    for kind in ("music", "video"):
        torch.manual_seed(0)
        model = create_model(kind, "small").eval()
        inputs = _inputs(kind, n)
        batch = default_batch_size(device)
        ctx.log(f"encoders: {kind} on {describe_device(device)} …")
        ours = clips_per_s(model.to(device), inputs, device, batch)
        model = model.to(cpu)
        one_by_one = clips_per_s(model, inputs[: max(8, n // 4)], cpu, 1)
        rows.append(Row(case=NAME, what=f"{kind} encoder (small)", ours=ours, reference=one_by_one, unit="clips/s",
                        ours_label=f"{describe_device(device)}, batch {batch}", reference_label="cpu, one clip at a time",
                        better="higher"))
        if device.type == "cuda":
            cpu_batched = clips_per_s(model, inputs, cpu, default_batch_size(cpu))
            rows.append(Row(case=NAME, what=f"{kind} encoder (small), CUDA vs CPU", ours=ours, reference=cpu_batched,
                            unit="clips/s", ours_label=describe_device(device),
                            reference_label=f"cpu, batch {default_batch_size(cpu)}", better="higher"))
    return rows
