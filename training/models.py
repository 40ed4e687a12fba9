"""Model configs of a run: a named set of ``engine.models`` plus the ``[model.*]`` overrides,
with the fields that follow from the data filled in."""
from __future__ import annotations

from typing import Any

from bgmatch.engine.config import config_from_dict, config_to_dict
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.learned.models import MatchingConfig, MusicEncoderConfig, VideoEncoderConfig, named_config

from .config import TrainConfig


def model_configs(config: TrainConfig, *, n_targets: int, text_dim: int
                  ) -> tuple[MusicEncoderConfig, VideoEncoderConfig, MatchingConfig]:
    """(music, video, matching) configs for ``config`` with ``n_targets`` targets and ``text_dim`` text width."""
    f = config.features
    music = _build("music", config, {"n_mels": f.n_mels, "n_targets": n_targets})
    video = _build("video", config, {"frame_px": f.frame_px, "frames_per_clip": f.frames_per_clip,
                                     "n_targets": n_targets})
    matching = _build("matching", config, {"music_dim": music.d_model, "video_dim": video.d_model,
                                           "text_dim": text_dim})
    return music, video, matching


def _build(kind: str, config: TrainConfig, derived: dict[str, Any]) -> Any:
    try:
        named = named_config(kind, config.model.name)
    except ConfigError as error:
        raise ConfigError(f"[model] name: {error}") from None
    overrides = dict(getattr(config.model, kind))
    for key, value in derived.items():
        if key in overrides and overrides[key] != value:
            raise ConfigError(f"[model.{kind}] {key} = {overrides[key]!r} contradicts {value!r}, which the data "
                              f"and the other models imply; leave it out")
    return config_from_dict(type(named), {**config_to_dict(named), **overrides, **derived}, where=f"model.{kind}")
