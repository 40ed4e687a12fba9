"""The paper's way of extracting features, as the reference the benchmarks compare against.

Video: every frame decoded, at 224×224 grayscale, dense optical flow between each consecutive
pair. RAFT cannot be run here, so OpenCV's DIS at its ``medium`` preset stands in for it (a
lower bound on RAFT's cost on a CPU). The grayscale picture is read from the luma plane, as
bgmatch does, so the comparison isolates what the paper computes, not how frames are converted.

Music: 16 kHz mono, 80-bin log-mel with 25 ms windows and 10 ms hops, cut into 4 s clips
(:func:`bgmatch.engine.analysis.features.log_mel`, which stands in for Kaldi fbank; torchaudio does not
install beside the CPU build of torch).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import av
import cv2
import numpy as np
import torch

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.features import MelConfig, log_mel

PAPER_FRAME_PX = 224


@dataclass(frozen=True)
class PaperVideoFeatures:
    """Per-frame flow magnitude and its per-clip means, as the paper's flow tokens use."""

    n_frames: int
    flow_magnitude: np.ndarray  # [T] px per frame pair, 0 for the first frame
    clip_means: np.ndarray  # [n_clips]


def paper_video_features(path: str | os.PathLike[str], *, clip_s: float = 4.0) -> PaperVideoFeatures:
    """Decode every frame at 224×224 grayscale and run DIS (medium) flow on each consecutive pair."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    magnitudes: list[float] = []
    times: list[float] = []
    previous = None
    with av.open(os.fspath(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in c.decode(stream):
            plane = frame.planes[0]
            luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
            small = cv2.resize(luma, (PAPER_FRAME_PX, PAPER_FRAME_PX), interpolation=cv2.INTER_AREA)
            if previous is None:
                magnitudes.append(0.0)
            else:
                flow = dis.calc(previous, small, None)
                magnitudes.append(float(np.sqrt((flow * flow).sum(axis=2)).mean()))
            times.append(float(frame.time or 0.0))
            previous = small
    mags, t = np.asarray(magnitudes, np.float32), np.asarray(times)
    n_clips = max(1, int(np.ceil((t[-1] + 1e-3) / clip_s))) if len(t) else 1
    clip = np.minimum((t / clip_s).astype(int), n_clips - 1) if len(t) else np.zeros(0, int)
    means = np.bincount(clip, weights=mags, minlength=n_clips) / np.maximum(np.bincount(clip, minlength=n_clips), 1)
    return PaperVideoFeatures(len(mags), mags, means.astype(np.float32))


def paper_music_fbank(path: str | os.PathLike[str], *, config: MelConfig = MelConfig()) -> torch.Tensor:
    """80-bin log-mel of the whole track at 16 kHz in 4 s clips: ``[n_clips, 400, 80]``."""
    y = media.decode_audio(path, sr_hz=config.sr_hz)
    mel = log_mel(y, config=config)
    f = config.frames_per_clip
    n = max(1, mel.shape[0] // f)
    return mel[: n * f].reshape(n, f, config.n_mels) if mel.shape[0] >= f else mel[None]
