"""Safe model checkpoints: plain tensors + plain config, loaded with ``weights_only=True``.

A checkpoint is one ``torch.save`` file holding a dict::

    {"format": "bgmatch-model", "format_version": 1, "kind": "music" | "video" | "matching",
     "config": {field: value}, "state_dict": {name: Tensor}, "extra": {plain data}}

Loading never unpickles arbitrary objects, so a hostile file cannot run code; the model is
rebuilt from the stored config (as nanoGPT's ``model_args``) and its weights loaded strictly.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from ...config import config_from_dict, config_to_dict
from ...errors import ConfigError, ModelError
from ...weights import load_payload
from .factory import MODEL_KINDS

FORMAT = "bgmatch-model"
FORMAT_VERSION = 1

_PLAIN_SCALARS = (type(None), bool, int, float, str)


class LoadedModel(NamedTuple):
    """A model rebuilt from a checkpoint, in eval mode."""

    model: nn.Module
    config: Any
    kind: str
    extra: dict[str, Any]


def save_model(
    path: str | os.PathLike[str],
    model: nn.Module,
    config: Any,
    *,
    kind: str,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` and its ``config`` to ``path`` atomically; return the path.

    ``extra`` holds plain data only (None, bool, int, float, str, tensors, and lists, tuples
    and str-keyed dicts of those), e.g. the training step or the tag vocabulary. A DDP or
    ``torch.compile`` wrapper is unwrapped. The file is written to a temporary name in the
    same folder, fsynced and renamed over ``path``, so a crash never leaves a half file.
    """
    target = Path(path)
    if kind not in MODEL_KINDS:
        raise ModelError(f"{target}: unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    config_class, model_class = MODEL_KINDS[kind]
    model = _unwrap(model)
    if not isinstance(model, model_class) or not isinstance(config, config_class):
        raise ModelError(
            f"{target}: a {kind!r} checkpoint needs a {model_class.__name__} and a "
            f"{config_class.__name__}, got {type(model).__name__} and {type(config).__name__}"
        )
    if getattr(model, "config", config) != config:
        raise ModelError(f"{target}: the config does not match the config the model was built with")
    extra = {} if extra is None else extra
    problem = _plain_data_problem(extra, "extra")
    if problem:
        raise ModelError(f"{target}: cannot save: {problem}")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": config_to_dict(config),
        "state_dict": {name: t.detach().cpu().clone() for name, t in model.state_dict().items()},
        "extra": extra,
    }
    atomic_torch_save(payload, target)
    return target


def load_model(
    path: str | os.PathLike[str],
    *,
    kind: str | None = None,
    map_location: str | torch.device = "cpu",
) -> LoadedModel:
    """Rebuild the model stored at ``path`` on ``map_location``, in eval mode.

    ``kind``, when given, must match the stored kind. Every problem with the file (missing,
    not a torch file, refused by ``weights_only``, another format, a newer format version,
    an unknown or invalid config key, weights that do not fit) raises
    ``ModelError("<path>: <reason>")``.
    """
    source = Path(path)
    payload = _read_payload(source, map_location)
    stored_kind = _check_header(source, payload)
    if kind is not None and stored_kind != kind:
        raise ModelError(f"{source}: holds a {stored_kind!r} model, expected {kind!r}")
    config_class, model_class = MODEL_KINDS[stored_kind]
    try:
        config = config_from_dict(config_class, payload.get("config"), where="config")
    except ConfigError as error:
        raise ModelError(f"{source}: {error}") from error
    state = payload.get("state_dict")
    if not isinstance(state, Mapping) or not all(
        isinstance(name, str) and isinstance(t, Tensor) for name, t in state.items()
    ):
        raise ModelError(f"{source}: state_dict is missing or not a mapping of names to tensors")
    extra = payload.get("extra", {})
    if not isinstance(extra, dict):
        raise ModelError(f"{source}: 'extra' is a {type(extra).__name__}, not a dict")
    model = model_class(config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelError(f"{source}: weights do not fit the stored config: {error}") from error
    model.to(map_location)
    model.eval()
    return LoadedModel(model, config, stored_kind, extra)


def _read_payload(source: Path, map_location: str | torch.device) -> Any:
    if not source.is_file():
        raise ModelError(f"{source}: no such model file")
    return load_payload(source, what="checkpoint", map_location=map_location)


def _check_header(source: Path, payload: Any) -> str:
    """Check format, version and kind of a loaded payload; return the kind."""
    found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if not isinstance(payload, dict) or found != FORMAT:
        raise ModelError(f"{source}: not a bgmatch model checkpoint (format {found!r})")
    version = payload.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelError(f"{source}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelError(
            f"{source}: format_version {version} is newer than this bgmatch reads "
            f"({FORMAT_VERSION}); upgrade bgmatch"
        )
    kind = payload.get("kind")
    if kind not in MODEL_KINDS:
        raise ModelError(f"{source}: unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    return kind


def _unwrap(model: nn.Module) -> nn.Module:
    """Strip DistributedDataParallel (``.module``) and torch.compile (``._orig_mod``) wrappers."""
    while True:
        inner = getattr(model, "_orig_mod", None)
        if inner is None:
            inner = getattr(model, "module", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def _plain_data_problem(value: Any, where: str) -> str | None:
    """Describe the first value that ``weights_only`` loading would refuse, else None."""
    if isinstance(value, _PLAIN_SCALARS) or isinstance(value, Tensor):
        return None
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            problem = _plain_data_problem(item, f"{where}[{i}]")
            if problem:
                return problem
        return None
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has a non-string key {key!r}"
            problem = _plain_data_problem(item, f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    return f"{where} is a {type(value).__name__}, not plain data"


def atomic_torch_save(payload: dict[str, Any], target: Path) -> None:
    """``torch.save`` to a temp file beside ``target``, fsync, then ``os.replace``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if os.name == "posix":  # make the rename itself durable
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
