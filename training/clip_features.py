"""Clip features of the (frozen) pretrained encoders for every prepared item, computed once per
matching run; under DDP each process encodes a share and the shares are exchanged as files."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bgmatch.engine.library.arrays import pack, unpack
from bgmatch.engine.learned.inputs import music_clip_inputs
from bgmatch.engine.learned.models import MusicEncoder, VideoEncoder

from .dataset import PreparedData
from .distributed import DistContext, barrier


ClipRows = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(encoder features [n, D], tokens [n] or [n, 3], periodicity [n, PERIODICITY_DIM]) of n clips."""


@dataclass
class ClipFeatureTable:
    """Per video id: (features [n, video_dim], flow tokens [n], periodicity); per music segment
    key (``dataset.segment_key``): (features [n, music_dim], rhythm tokens [n, 3], periodicity);
    at most ``max_clips`` consecutive clips from the start of the video / the segment."""

    video: dict[str, ClipRows] = field(default_factory=dict)
    music: dict[str, ClipRows] = field(default_factory=dict)

    def update(self, other: "ClipFeatureTable") -> None:
        self.video.update(other.video)
        self.music.update(other.music)


@torch.no_grad()
def encode_ids(music_encoder: MusicEncoder, video_encoder: VideoEncoder, data: PreparedData, *,
               video_ids: list[str], segments: list[tuple[str, str, float]], max_clips: int, device: torch.device,
               batch_clips: int = 64) -> ClipFeatureTable:
    """Encode up to ``max_clips`` clips of each video and of each music segment (key, music id,
    offset in s) with the encoders in eval mode."""
    music_encoder.eval()
    video_encoder.eval()
    table = ClipFeatureTable()
    for video_id in video_ids:
        frames, flow = data.video(video_id)
        frames, flow = frames[:max_clips], flow[:max_clips]
        features = _batched(video_encoder, torch.from_numpy(frames).float() / 255.0, device, batch_clips)
        table.video[video_id] = (features, flow, data.video_periodicity(video_id)[:max_clips])
    clip_s = data.features.clip_s
    for key, music_id, offset_s in segments:
        record = data.music(music_id)
        n_clips = int(np.ceil((record.inputs.duration_s - offset_s) / clip_s - 1e-6))
        starts = offset_s + np.arange(min(max(n_clips, 1), max_clips)) * clip_s
        mel, rhythm = music_clip_inputs(record.inputs, starts, config=data.features)
        table.music[key] = (_batched(music_encoder, torch.from_numpy(mel), device, batch_clips), rhythm,
                            data.music_periodicity(music_id, starts))
    return table


def _batched(encoder: MusicEncoder | VideoEncoder, clips: torch.Tensor, device: torch.device, batch: int) -> np.ndarray:
    parts = [encoder.embed_clips(clips[i:i + batch].to(device)).float().cpu() for i in range(0, len(clips), batch)]
    return torch.cat(parts).numpy()


def encode_all(music_encoder: MusicEncoder, video_encoder: VideoEncoder, data: PreparedData, *,
               video_ids: list[str], segments: list[tuple[str, str, float]], max_clips: int, context: DistContext,
               exchange_dir: Path) -> ClipFeatureTable:
    """:func:`encode_ids` split over the processes of a DDP job; every process gets every id."""
    share = encode_ids(music_encoder, video_encoder, data, video_ids=video_ids[context.rank::context.world_size],
                       segments=segments[context.rank::context.world_size], max_clips=max_clips,
                       device=context.device)
    if not context.distributed:
        return share
    exchange_dir.mkdir(parents=True, exist_ok=True)
    _write_share(share, exchange_dir / f"clip_features.rank{context.rank}.npz")
    barrier(context)
    table = ClipFeatureTable()
    for rank in range(context.world_size):
        table.update(_read_share(exchange_dir / f"clip_features.rank{rank}.npz"))
    barrier(context)
    return table


def _write_share(table: ClipFeatureTable, path: Path) -> None:
    arrays = {}
    for i, (features, tokens, periodicity) in enumerate(table.video.values()):
        arrays[f"v{i}"], arrays[f"vt{i}"], arrays[f"vp{i}"] = features, tokens, periodicity
    for i, (features, tokens, periodicity) in enumerate(table.music.values()):
        arrays[f"m{i}"], arrays[f"mt{i}"], arrays[f"mp{i}"] = features, tokens, periodicity
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(pack(arrays, {"video_ids": list(table.video), "music_ids": list(table.music)}))
    temporary.replace(path)


def _read_share(path: Path) -> ClipFeatureTable:
    arrays, meta = unpack(path.read_bytes())
    table = ClipFeatureTable()
    table.video = {vid: (arrays[f"v{i}"], arrays[f"vt{i}"], arrays[f"vp{i}"]) for i, vid in enumerate(meta["video_ids"])}
    table.music = {mid: (arrays[f"m{i}"], arrays[f"mt{i}"], arrays[f"mp{i}"]) for i, mid in enumerate(meta["music_ids"])}
    return table
