"""A library's learned music embeddings: made from a track's file and stored analysis, stored
per model and hop, and their encoded windows kept for ranking many videos."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..analysis import media
from ..analysis.rhythm import MusicAnalysis
from ..errors import MediaError
from .settings import LibraryConfig, embedding_key
from .store import FeatureStore, TrackRecord

if TYPE_CHECKING:  # torch is imported only once a model is used
    from ..learned.bundle import ModelBundle
    from ..learned.embeddings import EncodedWindows, MusicEmbedding

WINDOW_CACHE_ENTRIES = 4096
"""(model, track, clip count) window sets a library keeps encoded (a few hundred kB each)."""


def hop_s(bundle: "ModelBundle", config: LibraryConfig) -> float:
    """Spacing of a track's stored clip embeddings for ``bundle`` (``FusionConfig.music_hop_s``,
    default one clip)."""
    return config.fusion.music_hop_s or bundle.features.clip_s


def key(bundle: "ModelBundle", config: LibraryConfig) -> str:
    """Store key of ``bundle``'s embeddings in a library with ``config``."""
    return embedding_key(bundle.music_version, hop_s(bundle, config), bundle.features.clip_s)


def embed_track(store: FeatureStore, bundle: "ModelBundle", track_id: str, *, config: LibraryConfig,
                record: TrackRecord | None = None) -> "MusicEmbedding":
    """Decode a stored track's file, embed it with ``bundle`` and store the embedding."""
    from ..analysis.features import log_mel  # imports torch: only once a model is used
    from ..learned.inputs import MusicInputs, music_inputs

    record = store.get(track_id) if record is None else record
    features = bundle.features
    path = Path(record.meta["path"])
    try:
        mel_y = media.decode_audio(path, sr_hz=features.sr_hz, max_duration_s=config.max_track_s)
    except MediaError:
        if not path.exists():
            raise MediaError(path, "file is gone (moved or deleted); add it again") from None
        raise
    if features.rhythm() == config.rhythm:
        analysis = MusicAnalysis.from_arrays(record.arrays)  # the stored one: no second beat tracking
        inputs = MusicInputs(log_mel(mel_y, config=features.mel()).numpy(), analysis, len(mel_y) / features.sr_hz)
    else:  # other rhythm settings: analyse again as the model expects
        inputs = music_inputs(path, config=features, max_duration_s=config.max_track_s)
    embedding = bundle.embed_music(inputs, hop_s=hop_s(bundle, config))
    store.put_embedding(key(bundle, config), track_id, embedding.arrays())
    return embedding


def stored_embedding(store: FeatureStore, bundle: "ModelBundle", track_id: str, *,
                     config: LibraryConfig) -> "MusicEmbedding | None":
    """The stored embedding of a track for ``bundle`` (None when it has none)."""
    from ..learned.embeddings import MusicEmbedding

    arrays = store.get_embedding(key(bundle, config), track_id)
    return None if arrays is None else MusicEmbedding.from_arrays(arrays)


@dataclass(frozen=True)
class TrackWindows:
    """Every encoded window of ``n_clips`` clips of a track (``ModelBundle.all_windows``), with
    the track's length and clip hop to pick those a video fits."""

    windows: "EncodedWindows"
    track_s: float
    hop_s: float

    def fitting(self, bundle: "ModelBundle", duration_s: float) -> "EncodedWindows":
        """The windows from which ``duration_s`` seconds fit in the track."""
        return bundle.fitting_windows(self.windows, track_s=self.track_s, hop_s=self.hop_s, duration_s=duration_s)


class WindowCache:
    """Encoded windows of tracks, per (model, track, clip count), least recently used dropped
    first: they do not depend on the query, so ranking many videos of one length costs one
    matrix product per track and no store read."""

    def __init__(self, entries: int = WINDOW_CACHE_ENTRIES) -> None:
        self._entries = entries
        self._windows: OrderedDict[tuple[str, str, int], TrackWindows] = OrderedDict()

    def get(self, bundle: "ModelBundle", track_id: str, n_clips: int) -> TrackWindows | None:
        """The cached windows of a track (None when not cached)."""
        entry = self._windows.get((bundle.version, track_id, n_clips))
        if entry is not None:
            self._windows.move_to_end((bundle.version, track_id, n_clips))
        return entry

    def put(self, bundle: "ModelBundle", track_id: str, music: "MusicEmbedding", n_clips: int) -> TrackWindows:
        """Encode every window of ``n_clips`` clips of a track and keep them."""
        hop = float(music.starts_s[1] - music.starts_s[0]) if len(music.starts_s) > 1 else 1.0
        entry = TrackWindows(bundle.all_windows(music, n_clips), music.duration_s, hop)
        self._windows[(bundle.version, track_id, n_clips)] = entry
        while len(self._windows) > self._entries:
            self._windows.popitem(last=False)
        return entry
