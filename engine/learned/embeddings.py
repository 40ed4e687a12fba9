"""A model's view of media: encoder features of a track's clips and of a video's clips, and both
in the matching model's shared space. Plain containers; the arrays a library stores."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

@dataclass
class MusicEmbedding:
    """Encoder features of a whole track's clips, starting every ``hop_s`` seconds."""

    clip_features: np.ndarray  # [n_positions, music_dim] float32
    rhythm_tokens: np.ndarray  # [n_positions, 3] int64
    starts_s: np.ndarray  # [n_positions] float64
    duration_s: float
    periodicity: np.ndarray  # [n_positions, PERIODICITY_DIM] float32 ([n, 0] when stored without)

    def arrays(self) -> dict[str, np.ndarray]:
        """Named arrays for a store (features as float16)."""
        return {"clip_features": self.clip_features.astype(np.float16), "rhythm_tokens": self.rhythm_tokens,
                "starts_s": self.starts_s, "duration_s": np.array([self.duration_s]),
                "periodicity": self.periodicity.astype(np.float16)}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> "MusicEmbedding":
        n = len(a["starts_s"])
        periodicity = a["periodicity"].astype(np.float32) if "periodicity" in a else np.zeros((n, 0), np.float32)
        return cls(a["clip_features"].astype(np.float32), a["rhythm_tokens"], a["starts_s"], float(a["duration_s"][0]),
                   periodicity)


@dataclass
class VideoEmbedding:
    """Encoder features of a video's consecutive clips."""

    clip_features: np.ndarray  # [n_clips, video_dim] float32
    flow_tokens: np.ndarray  # [n_clips] int64
    duration_s: float
    periodicity: np.ndarray  # [n_clips, PERIODICITY_DIM] float32


@dataclass
class EncodedVideo:
    """A video in the shared space: pooled [dim] (unit), text [text_dim] (unit), clips [n, dim]."""

    pooled: Tensor
    text: Tensor
    clips: Tensor


@dataclass
class EncodedWindows:
    """Music windows in the shared space, one per offset: pooled [k, dim] (unit), text
    [k, text_dim] (unit), clips [k, n, dim] and their mask [k, n] (False past the track's end)."""

    offsets_s: np.ndarray
    pooled: Tensor
    text: Tensor
    clips: Tensor
    mask: Tensor


def select_windows(windows: EncodedWindows, rows: np.ndarray) -> EncodedWindows:
    """The windows at ``rows`` [k] (indices into ``windows``)."""
    index = torch.from_numpy(rows).to(windows.pooled.device)
    return EncodedWindows(windows.offsets_s[rows], windows.pooled[index], windows.text[index],
                          windows.clips[index], windows.mask[index])
