"""A track's stored analysis record: made once from its audio when it is added."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis import media
from ..analysis.beatgrid import META_KEY
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


USER_META_KEYS = (META_KEY,)
"""Metadata a user set on a track (the beat-grid correction): kept when it is analysed again."""


def with_user_meta(track: TrackRecord, store: FeatureStore) -> TrackRecord:
    """``track`` with the user's metadata of the stored record of the same content, if any
    (a re-analysis after an analysis-version or settings change keeps the user's corrections)."""
    if not store.has_track(track.track_id):
        return track
    old = store.get(track.track_id).meta
    kept = {k: old[k] for k in USER_META_KEYS if old.get(k) is not None}
    return TrackRecord(track.track_id, {**track.meta, **kept}, track.arrays) if kept else track


def held_track_id(store: FeatureStore, path: str | Path, config: LibraryConfig) -> str | None:
    """The id of the track ``store`` holds for the file ``path`` as it is now (same size and
    modification time, analysed under ``config``'s settings), else None."""
    path = Path(path).absolute()
    known = store.path_record(str(path))
    if known is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    if known.size == st.st_size and known.mtime_ns == st.st_mtime_ns and is_current(store, known.track_id, config):
        return known.track_id
    return None
