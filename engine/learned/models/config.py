"""Validation helpers shared by the model config dataclasses.

Every model component has one frozen dataclass config whose fields are plain ``int``,
``float``, ``bool``, ``str`` or ``Literal`` values; ``bgmatch.engine.config`` loads and writes
them (``config_from_dict(cls, config_to_dict(cfg)) == cfg``). The helpers here are the range
checks their ``__post_init__`` methods share.
"""
from __future__ import annotations

from ...errors import ConfigError


def require(condition: bool, owner: str, message: str) -> None:
    """Raise ``ConfigError("<owner>: <message>")`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"{owner}: {message}")


def require_positive(owner: str, **values: int | float) -> None:
    """Raise ``ConfigError`` naming the first of ``values`` that is not > 0."""
    for name, value in values.items():
        require(value > 0, owner, f"{name} must be > 0, got {value!r}")
