"""A track's stored analysis record: made once from its audio when it is added."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis import media
from ..analysis.rhythm import analyze_music
from ..errors import MediaError
from . import descriptors
from .settings import ANALYSIS_VERSION, LibraryConfig, analysis_settings
from .store import FeatureStore, TrackRecord


def analysis_record(path: Path, track_id: str, config: LibraryConfig) -> TrackRecord:
    """Decode ``path``, analyse its rhythm and make its record (``MediaError`` for bad audio)."""
    return analysed_audio(path, track_id, config)[0]


def analysed_audio(path: Path, track_id: str, config: LibraryConfig) -> tuple[TrackRecord, np.ndarray]:
    """:func:`analysis_record` and the decoded mono audio ``[n]`` at ``config.rhythm.sr_hz``
    (so that tagging need not decode the file again)."""
    info = media.probe(path)
    if not info.has_audio:
        raise MediaError(path, "no audio track")
    sr = config.rhythm.sr_hz
    y = media.decode_audio(path, sr_hz=sr, max_duration_s=config.max_track_s)
    if len(y) < sr:
        raise MediaError(path, f"audio is too short ({len(y) / sr:.2f} s; at least 1 s needed)")
    music = analyze_music(y, sr_hz=sr, config=config.rhythm)
    vectors, starts = descriptors.music_window_vectors(music)
    meta = {
        "path": str(path),
        "title": info.title or path.stem,
        "analysis_version": ANALYSIS_VERSION,
        "analysis_settings": analysis_settings(config),
    }
    arrays = {**music.arrays(), "window_vectors": vectors, "window_starts_s": starts}
    return TrackRecord(track_id, meta, arrays), y


def is_current(store: FeatureStore, track_id: str, config: LibraryConfig) -> bool:
    """Whether the store holds ``track_id`` analysed by this code under ``config``'s settings
    (a record without recorded settings was made under the defaults)."""
    if not store.has_track(track_id):
        return False
    meta = store.get(track_id).meta
    if meta.get("analysis_version") != ANALYSIS_VERSION:
        return False
    return meta.get("analysis_settings", analysis_settings(LibraryConfig())) == analysis_settings(config)
