"""bgmatch's one config loader: TOML/JSON files and plain dicts to typed, frozen dataclasses.

Every component has a config dataclass whose fields are ``bool``, ``int``, ``float``, ``str``,
``Literal[...]``, ``X | None`` (or another union), ``tuple``/``list`` of those, ``dict``/``Mapping``
tables, or a nested config dataclass (a sub-table). :func:`config_from_dict` checks every key
and value against the field types, then lets the dataclass's own ``__post_init__`` check ranges;
every problem is one ``ConfigError`` line naming the table and the key::

    [match] steps: expected int, got str '10'
    [match.losses] unknown key(s) 'tripplet'; known: triplet, reconstruction, …
    [features] FeatureConfig: frame_px must be > 0, got -1     (the dataclass's own check)

:func:`load_config` puts the file in front: ``small.toml: [run] unknown key(s) 'sed'; known: …``.
``config_from_dict(cls, config_to_dict(config)) == config`` for every config.

The checks are written here rather than taken from a validation library (pydantic, cattrs)
because the configs are plain frozen dataclasses shared with checkpoints and the messages must
say ``[table] key`` the way the TOML file spells it; the whole job is the short walk below.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import tomllib
import types
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from .errors import ConfigError

ConfigT = TypeVar("ConfigT")

__all__ = ["config_from_dict", "config_to_dict", "load_config", "read_config_file", "save_config"]


# -- dicts ------------------------------------------------------------------------------------
def config_from_dict(cls: type[ConfigT], data: Any, *, where: str = "") -> ConfigT:
    """Build the config dataclass ``cls`` from plain nested mappings (as parsed from TOML/JSON).

    ``where`` is the dotted name of the table ``data`` is (``"match.losses"``; empty: the top
    level), used in messages. Missing keys keep the dataclass defaults (a field without one is
    required); ``int`` values are accepted for ``float`` fields (and stored as float); lists
    become tuples for tuple fields.

    Raises
    ------
    ConfigError
        ``"[<table>] <key>: <reason>"`` for a key that is not a field (the message lists the
        known ones), a missing required key, a value of the wrong type, or a value the
        dataclass's own ``__post_init__`` rejects (its message, prefixed with the table unless
        it already names one).
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ConfigError(f"config_from_dict needs a dataclass type, got {cls!r}")
    return _table(cls, data, where)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass instance as plain nested dicts, lists and scalars (JSON-able; TOML-able
    when no value is ``None``). Tuples become lists, nested configs become tables."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise ConfigError(f"expected a config dataclass instance, got {type(config).__name__}")
    return _plain(config, type(config).__name__)


# -- files ------------------------------------------------------------------------------------
def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The top-level table of a ``.toml`` or ``.json`` file (chosen by its suffix).

    Raises ``ConfigError("<file>: <reason>")``: no such config file, cannot read, invalid
    TOML/JSON (with the parser's line and column), an unknown suffix, or a top level that is
    not a table.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ConfigError(f"{path}: unknown config file type {suffix or '(no suffix)'!r}; expected .toml or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: cannot read: not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: invalid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table at the top level, got {type(data).__name__}")
    return data


def load_config(cls: type[ConfigT], path: str | os.PathLike[str], *,
                overrides: Mapping[str, Any] | None = None) -> ConfigT:
    """Read ``path`` (TOML or JSON) into the config dataclass ``cls``.

    ``overrides`` maps dotted keys (``"run.out_dir"``, ``"match.losses.infonce"``) to values set
    on top of the file before checking (missing tables are created). Raises
    ``ConfigError("<file>: [<table>] <key>: <reason>")``.
    """
    data = read_config_file(path)
    try:
        for dotted, value in (overrides or {}).items():
            _override(data, dotted, value)
        return config_from_dict(cls, data)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def save_config(path: str | os.PathLike[str], config: Any) -> Path:
    """Write ``config`` (a config dataclass, or a mapping whose values may be ones) as JSON.

    The file is written to a temporary file beside ``path`` and moved over it with
    ``os.replace``, so a reader sees the old file or the new one, never half of one. Returns
    ``path``. Raises ``ConfigError("<file>: <reason>")`` when it cannot be written.
    """
    path = Path(path)
    if path.suffix.lower() != ".json":
        raise ConfigError(f"{path}: save_config writes JSON; name the file *.json")
    if isinstance(config, Mapping):
        text = json.dumps(_plain(config, path.name), indent=2)
    else:
        text = json.dumps(config_to_dict(config), indent=2)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")  # unique per writer
    try:
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(text + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot write: {error.strerror or error}") from None
    return path


# -- the walk ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    """(name, resolved type) of the fields ``cls.__init__`` takes."""
    hints = get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.init)


@functools.lru_cache(maxsize=None)
def _required(cls: type) -> tuple[str, ...]:
    """The fields of ``cls`` without a default."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init and f.default is dataclasses.MISSING
                 and f.default_factory is dataclasses.MISSING)


def _table(cls: type, data: Any, where: str) -> Any:
    label = where or "top level"
    if not isinstance(data, Mapping):
        raise ConfigError(f"[{label}] expected a table, got {_shown(data)}")
    fields = dict(_fields(cls))
    unknown = [key for key in data if key not in fields]
    if unknown:
        what = "table" if fields and all(dataclasses.is_dataclass(h) for h in fields.values()) else "key"
        raise ConfigError(f"[{label}] unknown {what}(s) {', '.join(map(repr, unknown))}; "
                          f"known: {', '.join(fields)}")
    missing = [name for name in _required(cls) if name not in data]
    if missing:
        raise ConfigError(f"[{label}] missing key(s) {', '.join(map(repr, missing))}")
    values = {key: _value(fields[key], value, where, key) for key, value in data.items()}
    try:
        return cls(**values)
    except ConfigError as error:
        message = str(error)
        raise ConfigError(message if message.startswith("[") else f"[{label}] {message}") from None
    except (TypeError, ValueError) as error:  # a __post_init__ that trips over a well-typed value
        raise ConfigError(f"[{label}] {cls.__name__}: {error}") from None


def _value(hint: Any, value: Any, table: str, key: str) -> Any:
    """``value`` checked against ``hint`` (``key`` of ``table``), converted where the type says."""
    origin, args = get_origin(hint), get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _table(hint, value, f"{table}.{key}" if table else key)
    if origin is Literal:
        if not any(type(value) is type(a) and value == a for a in args):
            _fail(table, key, f"{value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin in (Union, types.UnionType):
        arms = [arm for arm in args if arm is not type(None)]
        if value is None and len(arms) < len(args):
            return None
        if len(arms) == 1:  # X | None with a value: X's own message is the precise one
            return _value(arms[0], value, table, key)
        for arm in arms:
            try:
                return _value(arm, value, table, key)
            except ConfigError:
                continue
        _fail(table, key, f"expected {_describe(hint)}, got {_shown(value)}")
    if hint in (tuple, list, dict):
        origin = hint
    if origin in (tuple, list, Sequence):
        if not isinstance(value, (list, tuple)):
            _fail(table, key, f"expected a list, got {_shown(value)}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                _fail(table, key, f"expected a list of {len(args)} values, got {_shown(list(value))}")
            item_hints = args
        else:
            item_hints = (args[0] if args else Any,) * len(value)
        items = [_value(h, item, table, f"{key}[{i}]") for i, (h, item) in enumerate(zip(item_hints, value))]
        return items if origin is list else tuple(items)
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            _fail(table, key, f"expected a table, got {_shown(value)}")
        key_hint, value_hint = args if args else (Any, Any)
        inner = f"{table}.{key}" if table else key
        return {_value(key_hint, k, inner, "key"): _value(value_hint, v, inner, str(k)) for k, v in value.items()}
    if hint is Any or not isinstance(hint, type):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (isinstance(value, bool) and hint is not bool):
        _fail(table, key, f"expected {hint.__name__}, got {_shown(value)}")
    return value


def _plain(value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name), where) for name, _ in _fields(type(value))}
    if isinstance(value, Mapping):
        return {str(k): _plain(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError(f"{where}: a {type(value).__name__} value cannot be written to a config file")


def _override(data: dict[str, Any], dotted: str, value: Any) -> None:
    *tables, key = dotted.split(".")
    if not key or not all(tables):
        raise ConfigError(f"override {dotted!r}: empty key")
    node = data
    for depth, table in enumerate(tables):
        node = node.setdefault(table, {})
        if not isinstance(node, dict):
            name = ".".join(tables[:depth + 1])
            raise ConfigError(f"override {dotted!r}: {name} is {_shown(node)}, not a table")
    node[key] = value


def _fail(table: str, key: str, reason: str) -> None:
    raise ConfigError(f"[{table or 'top level'}] {key}: {reason}")


def _describe(hint: Any) -> str:
    if hint is type(None):
        return "None"
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(map(repr, get_args(hint)))
    if get_origin(hint) in (Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in get_args(hint))
    return hint.__name__ if isinstance(hint, type) else str(hint)


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= limit else text[:limit - 1] + '…'}"
