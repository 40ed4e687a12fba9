"""Where a built BeatCut benchmark keeps its files, and how the harness reads them.

::

    OUT/build.json                 settings, and per split its gallery (tracks) and footage
    OUT/queries/<split>/q0001.mp4  silent query videos with opaque names (nothing else)
    OUT/truth/<split>.json         ground truth of the split: query → track, offset, cuts, sources, seed
    OUT/truth/<split>/q0001.json   the same, one file per rendered query (what resuming relies on)
    OUT/libraries/<split>/         the gallery indexed by ``bgmatch eval`` (a bgmatch library)
    OUT/reference.json             ground-truth edition only: each track's reference beats (for measuring)

A method is given the query videos and the gallery; only the scoring reads ``truth/``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from bgmatch.engine.config import config_from_dict, read_config_file
from bgmatch.engine.errors import ConfigError

LAYOUT_VERSION = 1


def default_bench_dir() -> Path:
    """``$BGMATCH_BEATCUT`` or ``<user cache>/bgmatch/beatcut``."""
    env = os.environ.get("BGMATCH_BEATCUT")
    return Path(env) if env else Path(platformdirs.user_cache_dir("bgmatch")) / "beatcut"


def default_media_root() -> Path:
    """``$BGMATCH_MEDIA`` or ``~/.cache/bgmatch-media`` (what ``tests/media/fetch.sh`` fills)."""
    env = os.environ.get("BGMATCH_MEDIA")
    return Path(env) if env else Path.home() / ".cache" / "bgmatch-media"


@dataclass(frozen=True)
class GalleryTrack:
    """One track of a split's gallery: a unique key (``package/file``), its file and content hash."""

    key: str
    path: str
    content_hash: str
    duration_s: float


@dataclass(frozen=True)
class TruthRecord:
    """How one query was made (read only to score methods)."""

    query: str
    track: str  # GalleryTrack.key
    content_hash: str
    offset_s: float
    duration_s: float
    cut_times_s: tuple[float, ...]
    sources: tuple[str, ...]
    seed: int
    style: str = "tracker"  # the editor style (the ground-truth edition's); "tracker": the engine's beats


class BenchLayout:
    """Paths inside a benchmark folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    @property
    def build_json(self) -> Path:
        return self.root / "build.json"

    def queries_dir(self, split: str) -> Path:
        return self.root / "queries" / split

    def truth_dir(self, split: str) -> Path:
        return self.root / "truth" / split

    def truth_json(self, split: str) -> Path:
        return self.root / "truth" / f"{split}.json"

    def library_dir(self, split: str) -> Path:
        return self.root / "libraries" / split

    @property
    def stage_dir(self) -> Path:
        return self.root / ".stage"

    def read_build(self) -> dict[str, Any]:
        """The build settings; a clear error when the folder holds no built benchmark."""
        if not self.build_json.is_file():
            raise ConfigError(f"{self.root}: no BeatCut benchmark here (run `bgmatch eval build {self.root}`)")
        info = read_config_file(self.build_json)
        if info.get("version") != LAYOUT_VERSION:
            raise ConfigError(f"{self.build_json}: layout version {info.get('version')} is not {LAYOUT_VERSION}")
        return info

    def gallery(self, split: str) -> list[GalleryTrack]:
        """The tracks of ``split`` (every track a method ranks)."""
        splits = self.read_build()["splits"]
        if split not in splits:
            raise ConfigError(f"{self.root}: no split {split!r} (have {', '.join(splits)})")
        try:
            return [config_from_dict(GalleryTrack, t, where=f"splits.{split}.tracks[{i}]")
                    for i, t in enumerate(splits[split]["tracks"])]
        except ConfigError as error:
            raise ConfigError(f"{self.build_json}: {error}") from None

    def query_videos(self, split: str) -> list[Path]:
        """The rendered query videos of ``split``, by name."""
        return sorted(self.queries_dir(split).glob("q*.mp4"))

    def truth(self, split: str) -> dict[str, TruthRecord]:
        """Ground truth of ``split``, query name (``q0001``) → record."""
        path = self.truth_json(split)
        if not path.is_file():
            raise ConfigError(f"{path}: missing; rebuild the split with `bgmatch eval build`")
        data = json.loads(path.read_text())
        return {q: TruthRecord(query=q, track=r["track"], content_hash=r["content_hash"], offset_s=r["offset_s"],
                               duration_s=r["duration_s"], cut_times_s=tuple(r["cut_times_s"]),
                               sources=tuple(r["sources"]), seed=r["seed"], style=r.get("style", "tracker"))
                for q, r in data["queries"].items()}

    def reference_beats(self) -> dict[str, np.ndarray]:
        """Reference beat times (s) of every gallery track by key (``reference.json``, the
        ground-truth edition's); empty for today's BeatCut, which has none."""
        path = self.root / "reference.json"
        if not path.is_file():
            return {}
        return {k: np.asarray(v["beats_s"], np.float64) for k, v in json.loads(path.read_text()).items()}
