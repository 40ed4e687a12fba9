"""A library's settings and the versions of what it stores, recorded in ``library.json``.

The file sits beside the store so a library says how it was made. A change of the analysis
settings makes only the tracks analysed under other settings stale (they are analysed again when
next added or indexed); a change of the model or of the embedding hop makes only the embeddings
of that model and hop missing (:meth:`Library.embed`); nothing else is redone.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis import bars
from ..analysis.motion import MotionConfig
from ..analysis.rhythm import RhythmConfig
from ..config import config_from_dict, config_to_dict
from ..errors import ConfigError, LibraryError
from .index import IndexConfig
from .retrieval import FusionConfig, RetrievalConfig

SETTINGS_FILE = "library.json"
SETTINGS_FORMAT = "bgmatch-library"
SETTINGS_FORMAT_VERSION = 1

ANALYSIS_VERSION = 5
"""Bumped when the analysis code changes, so stored tracks are analysed again (2: downbeats,
phrases and sections; 3: the neural tracker's beats by default; 4: its bar phase chosen again
from the harmony and the bass, ``analysis.bar_phase``; 5: its cues read at the beats as the bar
grid reads its own, ``bars.strength_at_beats``)."""


@dataclass(frozen=True)
class LibraryConfig:
    """Analysis, index and ranking settings of a library."""

    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    max_track_s: float = 20 * 60.0
    max_video_s: float = 20 * 60.0
    min_video_s: float = 1.0


def _digest(value: Any) -> str:
    return hashlib.blake2b(json.dumps(value, sort_keys=True).encode(), digest_size=8).hexdigest()


def analysis_settings(config: LibraryConfig) -> str:
    """Fingerprint of the settings a stored track analysis depends on (its rhythm settings and
    length limit, and the downbeat weights its bars come from); stored in each track's metadata
    beside :data:`ANALYSIS_VERSION`."""
    return _digest({"rhythm": dataclasses.asdict(config.rhythm), "max_track_s": config.max_track_s,
                    "downbeat_weights": bars.activation_version()})


def embedding_key(music_version: str, hop_s: float, clip_s: float) -> str:
    """The store key of a model's music embeddings at a clip hop: the model's music version,
    plus the hop when it is not one clip (the default, kept as the bare version so libraries
    embedded before the hop was recorded keep their embeddings)."""
    return music_version if abs(hop_s - clip_s) < 1e-9 else f"{music_version}@hop{hop_s:g}"


def settings_record(config: LibraryConfig, *, model_version: str = "", embedding: str = "") -> dict[str, Any]:
    """What ``library.json`` holds: the format, the settings and the versions of stored data."""
    return {"format": SETTINGS_FORMAT, "format_version": SETTINGS_FORMAT_VERSION,
            "settings": config_to_dict(config),
            "versions": {"analysis": ANALYSIS_VERSION, "analysis_settings": analysis_settings(config),
                         "model": model_version, "embedding": embedding}}


def write_settings(folder: Path, record: dict[str, Any]) -> None:
    """Write ``library.json`` atomically; an unwritable folder leaves the old file (the library
    still works; the record is refreshed on the next write)."""
    path = folder / SETTINGS_FILE
    try:
        if path.exists() and json.loads(path.read_text()) == record:
            return
    except (OSError, ValueError):
        pass
    temporary = path.with_name(f".{SETTINGS_FILE}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(record, indent=2, sort_keys=True))
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)


def read_settings(folder: Path) -> LibraryConfig | None:
    """The settings recorded in ``folder``'s ``library.json`` (None when there is none);
    ``LibraryError`` names the file and the key when it is damaged or unknown."""
    path = folder / SETTINGS_FILE
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{path}: unreadable library settings ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != SETTINGS_FORMAT:
        raise LibraryError(f"{path}: not a bgmatch library settings file")
    if record.get("format_version", 0) > SETTINGS_FORMAT_VERSION:
        raise LibraryError(f"{path}: written by a newer bgmatch (format {record['format_version']})")
    try:
        return config_from_dict(LibraryConfig, _migrated_settings(record))
    except ConfigError as exc:
        raise LibraryError(f"{path}: {exc}") from None


def _migrated_settings(record: dict[str, Any]) -> Any:
    """The record's settings, with the defaults of older versions that every library recorded
    moved to today's: before analysis version 3 each library recorded librosa's beats (the default
    then), so those libraries move to the neural tracker's (a library set to librosa's since keeps them)."""
    settings = record.get("settings", {})
    versions = record.get("versions")
    analysis = versions.get("analysis", 0) if isinstance(versions, dict) else 0
    rhythm = settings.get("rhythm") if isinstance(settings, dict) else None
    if isinstance(analysis, int) and analysis < 3 and isinstance(rhythm, dict) and rhythm.get("beats") == "librosa":
        settings = {**settings, "rhythm": {k: v for k, v in rhythm.items() if k != "beats"}}
    return settings
