"""What bgmatch knows of one track (`bgmatch analyze`): its file's metadata, length, tempo,
beats, bars, phrases, sections and tags, from the library when it holds the file as it is now, else analysed on the spot."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..analysis import media
from ..analysis.metadata import read_metadata
from ..analysis.rhythm import MusicAnalysis
from ..errors import MediaError
from .records import analysis_record, held_track_id
from .tags import TAGGER_SR_HZ, load_library_tagger

if TYPE_CHECKING:
    from .facade import Library


@dataclass(frozen=True)
class TrackDescription:
    """A track as bgmatch sees it; ``source`` says whether it came from the library or was
    analysed now. ``tags`` are (name, probability), best first; empty without a tagger."""

    path: str
    source: Literal["library", "analysed"]
    metadata: dict[str, str]
    duration_s: float
    tempo_bpm: float
    beat_times_s: np.ndarray = field(repr=False)  # [B] float64, after the user's beat-grid correction
    tags: tuple[tuple[str, float], ...] = ()
    downbeat_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # [D], corrected
    phrase_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # [P], corrected
    section_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # [S], corrected
    meter: int = 4  # beats per bar (after a tempo correction)


def describe_track(path: str | os.PathLike[str], *, library: "Library | None" = None,
                   top_tags: int = 10) -> TrackDescription:
    """Describe the audio file ``path`` (``MediaError`` naming it when it is missing or bad)."""
    path = Path(path).absolute()
    if not path.is_file():
        raise MediaError(path, "no such file" if not path.exists() else "not a regular file")
    metadata = read_metadata(path).as_dict()
    track_id = held_track_id(library.store, path, library.config) if library is not None else None
    if track_id is not None:
        details = library.track_details(track_id)
        tags = library.track_tags(track_id)
        top = tuple(tags.top(top_tags)) if tags is not None else _tag_now(path, library.config.max_track_s, top_tags)
        return TrackDescription(str(path), "library", metadata, details.music.duration_s, details.tempo_bpm,
                                details.beat_times_s, top, np.asarray(details.downbeat_times_s, np.float64),
                                np.asarray(details.phrase_times_s, np.float64),
                                np.asarray(details.section_times_s, np.float64),
                                max(1, round(details.music.meter * details.correction.tempo_factor)))
    from .settings import LibraryConfig

    config = library.config if library is not None else LibraryConfig()
    music = MusicAnalysis.from_arrays(analysis_record(path, "", config).arrays)
    return TrackDescription(str(path), "analysed", metadata, music.duration_s, float(music.tempo_bpm),
                            np.asarray(music.beat_times_s, np.float64),
                            _tag_now(path, config.max_track_s, top_tags), music.downbeat_times_s,
                            music.phrase_times_s, music.section_times_s, music.meter)


def _tag_now(path: Path, max_track_s: float, top_tags: int) -> tuple[tuple[str, float], ...]:
    """Tags of every clip of ``path`` (nothing is stored), empty without a tagger."""
    tagger = load_library_tagger()
    if tagger is None:
        return ()
    y = media.decode_audio(path, sr_hz=TAGGER_SR_HZ, max_duration_s=max_track_s)
    return tuple(tagger.tag(y, sr_hz=TAGGER_SR_HZ).top(top_tags))
