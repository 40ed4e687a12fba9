"""The model bundle folder format, readable without torch.

A *bundle* is a folder written by ``bgmatch train``::

    bundle.json   {"format": "bgmatch-bundle", "format_version": 1, "features": {...},
                   "score": {...}, "models": {"music": "music.pt", ...}, "extra": {...}}
    music.pt      MusicEncoder checkpoint   (engine.learned.models.save_model)
    video.pt      VideoEncoder checkpoint
    matching.pt   MatchingModel checkpoint

``bundle.json`` is written last, so a folder with one is complete.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ModelError

BUNDLE_MANIFEST = "bundle.json"
BUNDLE_FORMAT = "bgmatch-bundle"
BUNDLE_FORMAT_VERSION = 1
MODEL_FILES = {"music": "music.pt", "video": "video.pt", "matching": "matching.pt"}


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked manifest of a bundle folder (``ModelError`` names the file and the problem)."""
    folder = Path(folder)
    path = folder / BUNDLE_MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{folder}: not a model bundle (no {BUNDLE_MANIFEST})") from None
    except (OSError, ValueError) as error:
        raise ModelError(f"{path}: unreadable bundle manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise ModelError(f"{path}: not a bgmatch bundle manifest")
    if manifest.get("format_version", 0) > BUNDLE_FORMAT_VERSION:
        raise ModelError(f"{path}: bundle format {manifest['format_version']} is newer than this bgmatch")
    return manifest


def write_manifest(folder: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
    """Write ``bundle.json`` atomically (temporary file, then rename)."""
    path = Path(folder) / BUNDLE_MANIFEST
    temporary = path.with_name(f".{BUNDLE_MANIFEST}.tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(temporary, path)


def fusion_weight(folder: str | os.PathLike[str]) -> float:
    """The fusion weight recorded in a bundle's manifest (``ScoreConfig``'s default, 0, when none),
    read without loading the model (or torch)."""
    return float(read_manifest(folder).get("score", {}).get("fusion_weight", 0.0))


def set_fusion_weight(folder: str | os.PathLike[str], weight: float) -> None:
    """Record the fusion weight chosen for a bundle in its manifest (atomically)."""
    manifest = read_manifest(folder)
    manifest.setdefault("score", {})["fusion_weight"] = float(weight)
    write_manifest(folder, manifest)
