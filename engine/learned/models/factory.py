"""Model kinds and named configurations, in the spirit of open_clip's ``create_model``.

Kinds: ``"music"`` (MusicEncoder), ``"video"`` (VideoEncoder), ``"matching"`` (MatchingModel).
Named configs:

- ``"paper"``: the paper's widths (music d=512×6 layers, video d=256×10 layers).
- ``"small"``: our default, a few MB per model in float32, fast enough for CPU inference,
  with the per-clip periodicity features (``engine.periodicity``) on both sides.
  It uses LayerNorm in the conv modules so fine-tuning with small batches behaves the same
  in train and eval mode.
"""
from __future__ import annotations

from typing import Any, Literal

from torch import nn

from ...errors import ConfigError
from ...analysis.periodicity import PERIODICITY_DIM
from .matching import MatchingConfig, MatchingModel
from .music import MusicEncoder, MusicEncoderConfig
from .video import VideoEncoder, VideoEncoderConfig

ModelKind = Literal["music", "video", "matching"]

MODEL_KINDS: dict[str, tuple[type[Any], type[nn.Module]]] = {
    "music": (MusicEncoderConfig, MusicEncoder),
    "video": (VideoEncoderConfig, VideoEncoder),
    "matching": (MatchingConfig, MatchingModel),
}
"""kind → (config class, model class); the checkpoint loader rebuilds models from it."""

_SMALL_MUSIC = MusicEncoderConfig(d_model=128, n_layers=2, n_heads=4, subsample_channels=64, conv_norm="layer")
_SMALL_VIDEO = VideoEncoderConfig(frame_px=128, d_model=96, n_layers=2, n_heads=4, conv_norm="layer")

NAMED_CONFIGS: dict[str, dict[str, Any]] = {
    "paper": {
        "music": MusicEncoderConfig(),
        "video": VideoEncoderConfig(),
        "matching": MatchingConfig(),
    },
    "small": {
        "music": _SMALL_MUSIC,
        "video": _SMALL_VIDEO,
        "matching": MatchingConfig(
            music_dim=_SMALL_MUSIC.d_model, video_dim=_SMALL_VIDEO.d_model, dim=128, n_heads=4,
            periodicity_dim=PERIODICITY_DIM,
        ),
    },
}


def model_classes(kind: str) -> tuple[type[Any], type[nn.Module]]:
    """Return (config class, model class) for ``kind``; ``ConfigError`` if unknown."""
    try:
        return MODEL_KINDS[kind]
    except KeyError:
        raise ConfigError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}") from None


def named_config(kind: str, name: str) -> Any:
    """The config of model ``kind`` in the named set ``name`` ("paper" or "small")."""
    model_classes(kind)
    if name not in NAMED_CONFIGS:
        raise ConfigError(f"unknown model config {name!r}; known: {', '.join(NAMED_CONFIGS)}")
    return NAMED_CONFIGS[name][kind]


def build_model(kind: str, config: Any) -> nn.Module:
    """Build a freshly initialised model of ``kind`` from its config dataclass."""
    config_class, model_class = model_classes(kind)
    if not isinstance(config, config_class):
        raise ConfigError(f"a {kind!r} model needs a {config_class.__name__}, got {type(config).__name__}")
    return model_class(config)


def create_model(kind: str, name: str = "small") -> nn.Module:
    """Build a freshly initialised model of ``kind`` with the named config ``name``."""
    return build_model(kind, named_config(kind, name))
