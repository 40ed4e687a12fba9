"""Where the beat benchmark lives and how an item is stored.

    ROOT/build.json            settings (seed, sr_hz, max_s …), item ids in build order, licenses
    ROOT/items/<id>.flac       mono 16-bit FLAC at ``sr_hz`` (22050 by default)
    ROOT/items/<id>.json       ground truth: beats_s, downbeats_s (null where unknown), meter, …
    ROOT/rejected.json         pieces the builder tried and left out, with the reason

ROOT is ``--out``, else ``$BGMATCH_BEATS``, else ``~/.cache/bgmatch/beats``. An item exists once
its JSON does; both files are written to a temporary name and renamed, audio first.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from bgmatch.engine.errors import ConfigError, MediaError

LAYOUT_VERSION = 1


def default_root() -> Path:
    """``$BGMATCH_BEATS`` or ``~/.cache/bgmatch/beats``."""
    env = os.environ.get("BGMATCH_BEATS")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bgmatch" / "beats"


def default_src_dir() -> Path:
    """Unpacked source packages and source lists: ``$BGMATCH_BEATS_SRC`` or ``~/.cache/bgmatch/beats/src``."""
    env = os.environ.get("BGMATCH_BEATS_SRC")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bgmatch" / "beats" / "src"


def default_trainset_dir() -> Path:
    """The beat tracker's training set by default: ``~/.cache/bgmatch/beats-train/set``."""
    return Path.home() / ".cache" / "bgmatch" / "beats-train" / "set"


@dataclass(frozen=True)
class BeatItem:
    """One rendered piece and its ground truth (times in seconds from the audio's first sample)."""

    item_id: str
    category: str
    audio_path: Path
    beats_s: np.ndarray  # float64 [n]
    downbeats_s: np.ndarray | None  # float64 [m]; None where the file states no meter
    meta: dict[str, Any]

    def load(self) -> tuple[np.ndarray, int]:
        """``(y float32 [n], sr_hz)`` of the item's audio."""
        try:
            y, sr = sf.read(str(self.audio_path), dtype="float32")
        except (OSError, RuntimeError) as exc:
            raise MediaError(self.audio_path, f"cannot read the rendered audio ({exc})") from exc
        return y, int(sr)


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` as JSON atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


def item_json(root: Path, item_id: str) -> Path:
    return root / "items" / f"{item_id}.json"


def read_item(path: Path) -> BeatItem:
    """The item described by ``ROOT/items/<id>.json``."""
    try:
        doc = json.loads(path.read_text())
        down = doc["downbeats_s"]
        return BeatItem(doc["item_id"], doc["category"], path.with_name(doc["audio"]),
                        np.asarray(doc["beats_s"], dtype=np.float64),
                        None if down is None else np.asarray(down, dtype=np.float64), doc)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a beat benchmark item ({exc})") from exc


def load_set(root: Path | str | None = None) -> list[BeatItem]:
    """Every built item of the benchmark at ``root`` (default :func:`default_root`), in build order."""
    root = Path(root) if root is not None else default_root()
    build = root / "build.json"
    if not build.is_file():
        raise ConfigError(f"{root}: no beat benchmark here (build it: bgmatch eval beats --build --out {root})")
    order = json.loads(build.read_text()).get("items", [])
    items = [read_item(item_json(root, i)) for i in order if item_json(root, i).is_file()]
    if not items:
        raise ConfigError(f"{root}: the beat benchmark has no rendered items yet")
    return items
