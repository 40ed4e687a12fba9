"""Music tags from audio: the musicnn taggers (Pons & Serra 2019) ported to torch.

Two pretrained models, converted once from the musicnn 0.1.0 wheel by
``training/tools/convert_musicnn.py`` and shipped in ``assets/tagger/``:

- ``"msd"``: 50 Million Song Dataset tags (genres, moods, eras: rock, electronic, chillout,
  ambient, happy, sad, …);
- ``"mtt"``: 50 MagnaTagATune tags (instruments and character: piano, strings, drums, synth,
  slow, fast, soft, loud, …).

Input pipeline (as musicnn's ``extractor.batch_data``): 16 kHz mono; power mel spectrogram
(librosa, n_fft 512, hop 256, 96 bands), rounded to float16, ``log10(10000·x + 1)``; cut into
non-overlapping patches of 187 frames (3 s). Each patch is tagged on its own (clip
probabilities, sigmoid); the track's tags are the mean over its patches. A track shorter
than one patch is repeat-padded (the models' training config says ``"pad_short": "repeat-pad"``).

``load_tagger("all")`` runs both models on the same patches and merges their vocabularies
(lower-cased; a tag both models know, such as "electronic", gets the mean of the two).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bgmatch.assets import asset_path

from ..analysis import spectra
from ..errors import ConfigError, ModelError
from ..weights import load_payload
from .device import default_batch_size, encode_in_batches, pick_device

TaggerKind = Literal["msd", "mtt"]
TaggerChoice = Literal["msd", "mtt", "all"]
TAGGER_KINDS: tuple[TaggerKind, ...] = ("msd", "mtt")

FORMAT = "bgmatch-tagger"
FORMAT_VERSION = 1

SR_HZ = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's default


@dataclass(frozen=True)
class MusicnnConfig:
    """Shape of a musicnn tagger (the "spec" front-end, dense mid-end, pooled back-end)."""

    n_mels: int = N_MELS
    timbral_filters: int = 204  # int(1.6 * 128), two blocks: 7×38 and 7×67 (0.4 and 0.7 of the bands)
    temporal_filters: int = 51  # int(1.6 * 32), three blocks: 128×1, 64×1, 32×1
    midend_filters: int = 64
    backend_units: int = 200
    n_tags: int = 50


class _TimeFreqBlock(nn.Module):
    """Conv2d over [time, freq] → ReLU → batch norm → max over frequency; [B, 1, T, F] → [B, C, T]."""

    def __init__(self, filters: int, kernel: tuple[int, int], time_pad: tuple[int, int]) -> None:
        super().__init__()
        self.time_pad = time_pad
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = nn.BatchNorm2d(filters, eps=BN_EPS)

    def forward(self, x: Tensor) -> Tensor:
        x = F.pad(x, (0, 0, *self.time_pad))
        return self.bn(F.relu(self.conv(x))).amax(dim=3)


class _MidendLayer(nn.Module):
    """1-D conv over time (kernel 7, zero-padded 3 each side) → ReLU → batch norm; [B, C, T] → [B, F, T]."""

    def __init__(self, in_channels: int, filters: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, filters, 7, padding=3)
        self.bn = nn.BatchNorm1d(filters, eps=BN_EPS)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(F.relu(self.conv(x)))


def _same_pad(kernel: int) -> tuple[int, int]:
    """TensorFlow's "same" padding for stride 1: the odd extra row goes at the end."""
    return (kernel - 1) // 2, kernel // 2


class Musicnn(nn.Module):
    """musicnn: log-mel patches ``[B, T, n_mels]`` → tag logits ``[B, n_tags]``.

    Batch norm is kept as layers (eval mode, eps 1e-3) rather than folded: in musicnn it sits
    after the ReLU, so it cannot be folded into the convolutions before it.
    """

    def __init__(self, config: MusicnnConfig = MusicnnConfig()) -> None:
        super().__init__()
        self.config = config
        c = config
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        self.timbral = nn.ModuleList(
            _TimeFreqBlock(c.timbral_filters, (7, int(share * c.n_mels)), (3, 3)) for share in (0.4, 0.7))
        self.temporal = nn.ModuleList(
            _TimeFreqBlock(c.temporal_filters, (k, 1), _same_pad(k)) for k in (128, 64, 32))
        front = 2 * c.timbral_filters + 3 * c.temporal_filters
        self.midend = nn.ModuleList([_MidendLayer(front, c.midend_filters),
                                     _MidendLayer(c.midend_filters, c.midend_filters),
                                     _MidendLayer(c.midend_filters, c.midend_filters)])
        pooled = 2 * (front + 3 * c.midend_filters)
        self.pool_bn = nn.BatchNorm1d(pooled, eps=BN_EPS)
        self.dense = nn.Linear(pooled, c.backend_units)
        self.dense_bn = nn.BatchNorm1d(c.backend_units, eps=BN_EPS)
        self.head = nn.Linear(c.backend_units, c.n_tags)

    def forward(self, mel: Tensor) -> Tensor:
        x = self.input_bn(mel.unsqueeze(1))  # [B, 1, T, F]
        front = torch.cat([block(x) for block in (*self.timbral, *self.temporal)], dim=1)  # [B, 561, T]
        m1 = self.midend[0](front)
        m2 = self.midend[1](m1) + m1
        m3 = self.midend[2](m2) + m2
        features = torch.cat([front, m1, m2, m3], dim=1)  # [B, 753, T]
        # TensorFlow flattens [B, C, (max, mean)]: max and mean interleave per channel.
        pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)
        hidden = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        return self.head(hidden)


def log_mel(y: np.ndarray, *, sr_hz: int) -> np.ndarray:
    """musicnn's log-mel of mono audio ``y`` ``[n_samples]``: float32 ``[n_frames, 96]``.

    Audio at another rate is resampled to 16 kHz first (librosa's default resampler).
    """
    y = np.asarray(y, np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ConfigError(f"tagging needs mono audio samples [n], got shape {y.shape}")
    if sr_hz != SR_HZ:
        y = spectra.resample(y, orig_sr=sr_hz, target_sr=SR_HZ)
    power = spectra.mel_power(spectra.power_spectrogram(y, n_fft=N_FFT, hop_length=HOP), sr_hz=SR_HZ, n_mels=N_MELS).T
    # musicnn rounds the power to float16 and also does the arithmetic in float16, where
    # 10000·x overflows to inf for x > 6.55 (about 0.7 % of the bins of loud music) and its
    # tags become NaN; we keep the rounding and compute the log in float32.
    return np.log10(10000 * power.astype(np.float16).astype(np.float32) + 1)


def mel_patches(mel: np.ndarray, *, patch_frames: int = PATCH_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping patches ``[n, patch_frames, 96]`` of a log-mel ``[T, 96]`` and their start times (s) ``[n]``.

    As musicnn: patches start every ``patch_frames`` frames and a last partial patch is dropped;
    a log-mel shorter than one patch is repeated until it fills one.
    """
    if mel.shape[0] < patch_frames:
        mel = np.tile(mel, (int(np.ceil(patch_frames / max(mel.shape[0], 1))), 1))[:patch_frames]
    starts = np.arange(0, mel.shape[0] - patch_frames + 1, patch_frames)
    patches = np.stack([mel[s:s + patch_frames] for s in starts])
    return patches, starts * HOP / SR_HZ


def indexing_clip_budget(duration_s: float, *, coverage: float = 0.1, min_clips: int = 4) -> int:
    """Clips to tag of a track of ``duration_s`` when indexing: ``coverage`` of its length, at least ``min_clips``.

    Measured on one core (both models, log-mel included): every clip tagged runs at 14× real
    time; this budget at 108× (10 real tracks, 31 min), which keeps indexing with tagging above
    50× real time per core.
    """
    clip_s = PATCH_FRAMES * HOP / SR_HZ
    return max(min_clips, int(np.ceil(coverage * duration_s / clip_s)))


@dataclass(frozen=True)
class TagResult:
    """Tags of one track: per 3 s patch (clip) and their mean (track)."""

    clip_probs: np.ndarray  # [n_clips, n_tags] float32 in [0, 1]
    track_probs: np.ndarray  # [n_tags]
    clip_starts_s: np.ndarray  # [n_clips] start of each clip in the track
    tag_names: tuple[str, ...]

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable track tags with their probabilities, best first."""
        order = np.argsort(-self.track_probs, kind="stable")[:k]
        return [(self.tag_names[i], float(self.track_probs[i])) for i in order]


def merged_vocabulary(tag_lists: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """Lower-cased union of several models' tags, in first-seen order."""
    names: dict[str, None] = {}
    for tags in tag_lists:
        names.update((t.lower(), None) for t in tags)
    return tuple(names)


class Tagger:
    """One or more musicnn models that tag the same log-mel patches (see the module docstring)."""

    def __init__(self, models: Sequence[tuple[Musicnn, Sequence[str]]], *, device: torch.device,
                 batch_size: int | None = None) -> None:
        if not models:
            raise ConfigError("a tagger needs at least one model")
        self.device = device
        self.batch_size = batch_size or default_batch_size(device, cpu=16, cuda=256)
        self.models = [model.to(device).eval() for model, _ in models]
        self.model_tags = [tuple(tags) for _, tags in models]
        self.tag_names = merged_vocabulary(self.model_tags)
        # merge[i, j]: weight of model-concatenated tag i in merged tag j (mean over the models that know it)
        index = {name: j for j, name in enumerate(self.tag_names)}
        flat = [t.lower() for tags in self.model_tags for t in tags]
        merge = np.zeros((len(flat), len(self.tag_names)), np.float32)
        for i, name in enumerate(flat):
            merge[i, index[name]] = 1.0
        self._merge = merge / merge.sum(axis=0, keepdims=True)

    @torch.inference_mode()
    def tag_patches(self, patches: np.ndarray) -> np.ndarray:
        """Tag probabilities ``[n, n_tags]`` of log-mel patches ``[n, 187, 96]`` (merged vocabulary)."""
        x = torch.from_numpy(np.ascontiguousarray(patches, np.float32))
        probs = [torch.sigmoid(encode_in_batches(model, x, device=self.device, batch_size=self.batch_size)).numpy()
                 for model in self.models]
        return np.concatenate(probs, axis=1) @ self._merge

    def tag(self, y: np.ndarray, *, sr_hz: int, max_clips: int | None = None) -> TagResult:
        """Tags of mono audio ``y`` ``[n_samples]`` at ``sr_hz``: per 3 s clip and for the whole track.

        ``max_clips`` caps the work per track: of a longer track only that many clips, spread
        evenly from the first to the last, are tagged (``clip_starts_s`` says which); None tags all.
        """
        if max_clips is not None and max_clips < 1:
            raise ConfigError(f"max_clips must be at least 1, got {max_clips}")
        patches, starts_s = mel_patches(log_mel(y, sr_hz=sr_hz))
        if max_clips is not None and len(patches) > max_clips:
            keep = np.unique(np.round(np.linspace(0, len(patches) - 1, max_clips)).astype(int))
            patches, starts_s = patches[keep], starts_s[keep]
        clip = self.tag_patches(patches).astype(np.float32)
        return TagResult(clip_probs=clip, track_probs=clip.mean(axis=0), clip_starts_s=starts_s.astype(np.float32),
                         tag_names=self.tag_names)


def default_tagger_path(kind: TaggerKind) -> Path:
    """The shipped weights of ``kind``: ``assets/tagger/musicnn_<kind>.pt``."""
    return asset_path("tagger", f"musicnn_{kind}.pt")


def save_tagger_weights(path: str | os.PathLike[str], model: Musicnn, *, kind: TaggerKind,
                        tag_names: Sequence[str], source: str) -> Path:
    """Write ``model`` as a plain dict (format, version, config, tags, float32 state dict) atomically."""
    target = Path(path)
    if len(tag_names) != model.config.n_tags:
        raise ModelError(f"{target}: {len(tag_names)} tag names for a model with {model.config.n_tags} outputs")
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "source": source,
               "config": asdict(model.config), "tag_names": list(tag_names),
               "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, target)
    return target


def load_tagger_weights(path: str | os.PathLike[str]) -> tuple[Musicnn, tuple[str, ...]]:
    """A musicnn model (eval mode) and its tag names from a file written by :func:`save_tagger_weights`."""
    source = Path(path)
    if not source.is_file():
        raise ModelError(f"{source}: tagger weights not found")
    payload = load_payload(source, what="tagger")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{source}: not a bgmatch tagger file")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{source}: tagger format version {payload.get('format_version')!r}, "
                         f"this bgmatch reads {FORMAT_VERSION}")
    known = {f.name for f in fields(MusicnnConfig)}
    config_dict = payload.get("config", {})
    if not isinstance(config_dict, dict) or set(config_dict) - known:
        raise ModelError(f"{source}: unknown tagger config fields {sorted(set(config_dict) - known)}")
    model = Musicnn(MusicnnConfig(**config_dict))
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError, TypeError) as error:
        raise ModelError(f"{source}: weights do not fit the musicnn config ({str(error).splitlines()[0]})") from None
    tags = tuple(payload.get("tag_names", ()))
    if len(tags) != model.config.n_tags:
        raise ModelError(f"{source}: {len(tags)} tag names for {model.config.n_tags} outputs")
    return model.eval(), tags


def load_tagger(kind: TaggerChoice = "all", *, device: str | torch.device | None = None,
                paths: dict[TaggerKind, str | os.PathLike[str]] | None = None,
                batch_size: int | None = None) -> Tagger:
    """The tagger ``kind`` ("msd", "mtt" or "all" = both, merged) on ``device`` (see ``pick_device``).

    ``paths`` overrides the shipped weight files per kind. ``ModelError`` when a file is missing or bad.
    """
    if kind not in (*TAGGER_KINDS, "all"):
        raise ConfigError(f"unknown tagger {kind!r}; use msd, mtt or all")
    kinds = TAGGER_KINDS if kind == "all" else (kind,)
    paths = paths or {}
    models = [load_tagger_weights(paths.get(k) or default_tagger_path(k)) for k in kinds]
    return Tagger(models, device=pick_device(device), batch_size=batch_size)
