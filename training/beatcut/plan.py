"""What a BeatCut build will render: its settings, the usable tracks, and the seeded query plan.

Everything here is decided before any video is rendered, from the settings and the file names
alone, so a resumed or parallel build renders exactly the queries a fresh one would.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bgmatch.engine.config import config_to_dict
from bgmatch.engine.errors import BgmatchError, ConfigError
from bgmatch.engine.library.walk import AUDIO_EXTENSIONS, iter_media_files
from bgmatch.engine.analysis.media import probe

from .edit import EditConfig
from .splits import SPLITS

#: BeatCut's default edit: small, fast renders; the editor's default jitter and off-beat share.
DEFAULT_EDIT = EditConfig(size=(320, 180), preset="ultrafast", crf=28)


@dataclass(frozen=True)
class BuildConfig:
    """Settings of a BeatCut build (stored in ``build.json``; a resumed build must match them)."""

    seed: int = 0
    queries: Mapping[str, int] = field(default_factory=lambda: {"train": 100, "valid": 100, "test": 150})
    fractions: Mapping[str, float] = field(default_factory=lambda: {"train": 0.25, "valid": 0.25, "test": 0.5})
    duration_range_s: tuple[float, float] = (15.0, 30.0)
    #: Queries end before this time in their track, and ``bgmatch eval`` analyses each gallery
    #: track up to it: the gallery is the first ``max_end_s`` of every track.
    max_end_s: float = 180.0
    lead_s: float = 2.0  # queries start at least this far into the track
    min_track_s: float = 60.0  # tracks with less usable music are left out
    edit: EditConfig = DEFAULT_EDIT

    def __post_init__(self) -> None:
        lo, hi = self.duration_range_s
        if not 1.0 <= lo <= hi:
            raise ConfigError(f"duration range must satisfy 1 <= min <= max, got {lo}..{hi}")
        if self.max_end_s < self.lead_s + hi or self.min_track_s < self.lead_s + hi:
            raise ConfigError(f"max_end_s and min_track_s must leave room for a {hi:g}-s query after {self.lead_s:g} s")
        if set(self.queries) - set(SPLITS) or set(self.fractions) - set(SPLITS):
            raise ConfigError(f"splits are {', '.join(SPLITS)}")
        for s in SPLITS:
            if self.queries.get(s, 0) > 0 and self.fractions.get(s, 0.0) <= 0:
                raise ConfigError(f"split {s!r} has queries but no share of the tracks")

    def to_dict(self) -> dict[str, Any]:
        d = config_to_dict(self)
        d["queries"] = {s: int(self.queries.get(s, 0)) for s in SPLITS}
        d["fractions"] = {s: float(self.fractions.get(s, 0.0)) for s in SPLITS}
        return d


@dataclass(frozen=True)
class Track:
    """A usable music file: its key (``folder/file`` under a music folder), path and duration."""

    key: str
    path: Path
    duration_s: float


@dataclass(frozen=True)
class QuerySpec:
    """One query to render: which split, its opaque name, the track and span it is cut to, its seed."""

    split: str
    query: str
    track: str  # Track.key
    offset_s: float
    duration_s: float
    seed: int


def find_tracks(music_dirs: Sequence[str | os.PathLike[str]], *, min_usable_s: float, max_end_s: float,
                warn=lambda line: print(line, file=sys.stderr)) -> list[Track]:
    """Audio files under ``music_dirs`` with at least ``min_usable_s`` of music before ``max_end_s``.

    Keys are paths relative to their music folder, so the split does not depend on where the
    folders are. Unreadable files and duplicate keys are reported through ``warn`` and skipped.
    """
    tracks: dict[str, Track] = {}
    for folder in map(Path, music_dirs):
        if not folder.is_dir():
            raise ConfigError(f"{folder}: not a music folder")
        for path in iter_media_files([folder], extensions=AUDIO_EXTENSIONS):
            key = path.relative_to(folder).as_posix()
            try:
                duration_s = probe(path).duration_s
            except BgmatchError as exc:
                warn(f"skipped: {exc}")
                continue
            if min(duration_s, max_end_s) < min_usable_s:
                continue
            if key in tracks:
                warn(f"skipped: {path}: another music folder also has {key}")
                continue
            tracks[key] = Track(key, path, duration_s)
    return [tracks[k] for k in sorted(tracks)]


def plan_queries(tracks: Sequence[Track], *, split: str, n_queries: int, config: BuildConfig) -> list[QuerySpec]:
    """The ``n_queries`` queries of one split, cut to its ``tracks`` (each used ⌊n/T⌋ or ⌈n/T⌉ times).

    Each gets a duration drawn from ``config.duration_range_s`` (on the frame grid), a start offset
    drawn uniformly where the query fits between ``lead_s`` and ``max_end_s``, and its own seed.
    Names ``q0001…`` are assigned in a shuffled order, so they say nothing about the track.
    """
    if n_queries == 0:
        return []
    if not tracks:
        raise ConfigError(f"split {split!r} has no tracks for its {n_queries} queries")
    rng = np.random.default_rng([config.seed, 100 + SPLITS.index(split)])
    order = np.concatenate([rng.permutation(len(tracks)) for _ in range(-(-n_queries // len(tracks)))])[:n_queries]
    names = rng.permutation(n_queries) + 1
    fps = config.edit.fps
    lo, hi = config.duration_range_s
    specs = []
    for i, t in enumerate(order):
        track = tracks[int(t)]
        duration_s = round(float(rng.uniform(lo, hi)) * fps) / fps
        latest = min(track.duration_s, config.max_end_s) - duration_s
        offset_s = round(float(rng.uniform(config.lead_s, latest)), 2)
        seed = int(rng.integers(2**31))
        specs.append(QuerySpec(split, f"q{names[i]:04d}", track.key, offset_s, duration_s, seed))
    return sorted(specs, key=lambda q: q.query)
