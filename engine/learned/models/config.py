"""Plain-data helpers shared by the model config dataclasses.

Every model component has one frozen dataclass config whose fields are plain ``int``,
``float``, ``bool``, ``str`` or ``Literal`` values, so a config round-trips through
JSON/TOML/checkpoints as a flat dict: ``config_from_dict(cls, config_to_dict(cfg)) == cfg``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from ...errors import ConfigError

ConfigT = TypeVar("ConfigT")


def config_to_dict(config: Any) -> dict[str, Any]:
    """Return a config dataclass as a plain ``{field: value}`` dict."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise ConfigError(f"expected a config dataclass instance, got {type(config).__name__}")
    return dataclasses.asdict(config)


def config_from_dict(cls: type[ConfigT], data: Mapping[str, Any]) -> ConfigT:
    """Build ``cls`` from a plain mapping, checking key names and value types.

    Raises
    ------
    ConfigError
        For a key that is not a field of ``cls`` (the message names it), a value of the
        wrong type, or a value the config's own validation rejects.
    """
    owner = cls.__name__
    if not isinstance(data, Mapping):
        raise ConfigError(f"{owner}: expected a mapping of settings, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(repr(key) for key in data if key not in names)
    if unknown:
        raise ConfigError(f"{owner}: unknown key(s) {', '.join(unknown)}")
    values = {key: _checked_value(owner, key, value, hints[key]) for key, value in data.items()}
    return cls(**values)


def require(condition: bool, owner: str, message: str) -> None:
    """Raise ``ConfigError("<owner>: <message>")`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"{owner}: {message}")


def require_positive(owner: str, **values: int | float) -> None:
    """Raise ``ConfigError`` naming the first of ``values`` that is not > 0."""
    for name, value in values.items():
        require(value > 0, owner, f"{name} must be > 0, got {value!r}")


def _checked_value(owner: str, key: str, value: Any, hint: Any) -> Any:
    where = f"{owner}.{key}"
    if get_origin(hint) is Literal:
        allowed = get_args(hint)
        if value not in allowed or isinstance(value, bool):
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        if is_number:
            return float(value)
        ok = False
    elif hint is str:
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        expected = getattr(hint, "__name__", str(hint))
        raise ConfigError(f"{where}: expected {expected}, got {type(value).__name__} {value!r}")
    return value
