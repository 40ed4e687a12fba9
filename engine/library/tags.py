"""A library's tags: what each track is (musicnn tag probabilities per track and per clip) and
what its file says it is (title, artist, album, genre).

Stored beside the learned embeddings, keyed by track id and :func:`tags_key` (the tagger's
vocabulary and :data:`TAGS_VERSION`), never inside the analysis record: a library analysed
before tagging existed keeps its analyses, and :meth:`Library.tag` tags only the tracks that
lack tags, one stored record per track (resumable). Of each track only the clips
``indexing_clip_budget`` picks are tagged, so that indexing stays above 50× real time per core.
"""
from __future__ import annotations

import dataclasses
import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..analysis import media
from ..analysis.metadata import TrackMetadata, read_metadata
from ..errors import MediaError, ModelError
from ..progress import CancelFn, ProgressFn
from .batch import for_each_track
from .results import TagReport, TrackInfo
from .store import FeatureStore

if TYPE_CHECKING:  # torch is imported only once a track is tagged
    from ..learned.tagger import Tagger

TAGS_VERSION = 1
"""Bumped when what is stored per track changes (clip budget, input pipeline), so tracks are tagged again."""
TAGGER_KIND = "all"
TOP_TAGS = 5
TAGGER_SR_HZ = 16000
MIN_CLIPS = 2
"""Clips tagged of even the shortest track (``indexing_clip_budget``'s ``min_clips``): with its
default 4, one-minute tracks cost twice the clips of its 10 % coverage (measured: 35× real time)."""


@dataclass(frozen=True)
class TrackTags:
    """A track's stored tags: probabilities per track ``[T]`` and per tagged clip ``[n, T]``."""

    tag_names: tuple[str, ...]
    track_probs: np.ndarray = field(repr=False)  # [T] float32 in [0, 1]
    clip_probs: np.ndarray = field(repr=False)  # [n_clips, T]
    clip_starts_s: np.ndarray = field(repr=False)  # [n_clips] start of each 3 s clip in the track
    metadata: TrackMetadata = TrackMetadata()

    def top(self, k: int = TOP_TAGS) -> list[tuple[str, float]]:
        """The ``k`` most probable tags of the track with their probabilities, best first."""
        order = np.argsort(-self.track_probs, kind="stable")[:k]
        return [(self.tag_names[i], float(self.track_probs[i])) for i in order]


def tags_key(tag_names: tuple[str, ...]) -> str:
    """Store key of tags made with a tagger of vocabulary ``tag_names``."""
    digest = hashlib.blake2b("\n".join(tag_names).encode(), digest_size=6).hexdigest()
    return f"tags/musicnn-{TAGGER_KIND}-{TAGS_VERSION}-{digest}"


_warned_missing = False


def load_library_tagger() -> "Tagger | None":
    """The shipped tagger, or None (with one warning per process) when its weights are missing or bad."""
    global _warned_missing
    from ..learned.tagger import load_tagger  # imports torch

    try:
        return load_tagger(TAGGER_KIND, device="cpu")
    except ModelError as error:
        if not _warned_missing:
            warnings.warn(f"{error}; tracks are indexed without tags", RuntimeWarning, stacklevel=3)
            _warned_missing = True
        return None


def tag_track(store: FeatureStore, tagger: "Tagger", track_id: str, *, path: Path, max_duration_s: float,
              audio: np.ndarray | None = None, sr_hz: int | None = None) -> TrackTags:
    """Tag the clips ``indexing_clip_budget`` picks of ``path`` (of its decoded mono ``audio``
    at ``sr_hz`` when given, resampled to the tagger's rate, else decoded now), read the file's
    own metadata and store both under :func:`tags_key` (``MediaError`` for bad audio)."""
    from ..learned.tagger import indexing_clip_budget

    if audio is not None and sr_hz is not None:
        import soxr  # librosa's resampler; a second decode costs 4× as much CPU (measured)

        y = soxr.resample(audio, sr_hz, TAGGER_SR_HZ).astype(np.float32)
    else:
        try:
            y = media.decode_audio(path, sr_hz=TAGGER_SR_HZ, max_duration_s=max_duration_s)
        except MediaError:
            if not path.exists():
                raise MediaError(path, "file is gone (moved or deleted); add it again") from None
            raise
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a few 3 s clips: more threads cost more CPU time than they save (measured 2×)
    try:
        result = tagger.tag(y, sr_hz=TAGGER_SR_HZ, max_clips=indexing_clip_budget(len(y) / TAGGER_SR_HZ,
                                                                                 min_clips=MIN_CLIPS))
    finally:
        torch.set_num_threads(threads)
    metadata = read_metadata(path)
    tags = TrackTags(tuple(result.tag_names), result.track_probs.astype(np.float32),
                     result.clip_probs.astype(np.float32), result.clip_starts_s.astype(np.float32), metadata)
    store.put_embedding(tags_key(tags.tag_names), track_id,
                        {"track_probs": tags.track_probs, "clip_probs": tags.clip_probs,
                         "clip_starts_s": tags.clip_starts_s},
                        {"tag_names": list(tags.tag_names), "metadata": metadata.as_dict()})
    return tags


def stored_tags(store: FeatureStore, key: str, track_id: str) -> TrackTags | None:
    """A track's stored tags under ``key`` (None when it has none)."""
    found = store.get_embedding_record(key, track_id)
    if found is None:
        return None
    arrays, meta = found
    return TrackTags(tuple(meta["tag_names"]), arrays["track_probs"], arrays["clip_probs"], arrays["clip_starts_s"],
                     TrackMetadata(**meta.get("metadata", {})))


def latest_tags_key(store: FeatureStore) -> str | None:
    """The key of the tags most tracks have (None when no track is tagged): lets a library be
    read, searched and listed without loading the tagger."""
    key = store.get_meta("tags_key")
    return key if isinstance(key, str) else None


class LibraryTags:
    """The tags side of a :class:`~bgmatch.engine.library.Library`: its tagger (loaded on first
    use) and the tags stored in its store."""

    def __init__(self, store: FeatureStore, *, max_track_s: float) -> None:
        self.store = store
        self.max_track_s = max_track_s
        self.enabled = True
        self._tagger: "Tagger | None" = None
        self._loaded = False

    def tagger(self) -> "Tagger | None":
        """The tagger (None when tagging is off or its weights are missing)."""
        if not self.enabled:
            return None
        if not self._loaded:
            self._tagger, self._loaded = load_library_tagger(), True
        return self._tagger

    def tag(self, track_id: str, path: Path, *, audio: np.ndarray | None = None,
            sr_hz: int | None = None) -> TrackTags | None:
        """Tag one stored track, from its decoded ``audio`` at ``sr_hz`` when given (None without a tagger)."""
        tagger = self.tagger()
        if tagger is None:
            return None
        tags = tag_track(self.store, tagger, track_id, path=path, max_duration_s=self.max_track_s,
                         audio=audio, sr_hz=sr_hz)
        key = tags_key(tags.tag_names)
        if self.store.get_meta("tags_key") != key:
            self.store.set_meta("tags_key", key)
        return tags

    def missing(self) -> list[str]:
        """Ids of the stored tracks without tags from the current tagger (empty without one)."""
        tagger = self.tagger()
        if tagger is None:
            return []
        have = self.store.embedded_ids(tags_key(tagger.tag_names))
        return [t for t in self.store.track_ids() if t not in have]

    def get(self, track_id: str) -> TrackTags | None:
        """A track's stored tags (None when untagged), read without loading the tagger."""
        key = latest_tags_key(self.store)
        return None if key is None else stored_tags(self.store, key, track_id)

    def described(self, item):
        """``item`` (a ``TrackInfo`` or ``Suggestion``) with the track's file metadata (title,
        artist; album and genre for a ``TrackInfo``) and top tags, where it has them."""
        tags = self.get(item.track_id)
        if tags is None:
            return item
        meta = tags.metadata
        extra = {"album": meta.album, "genre": meta.genre} if isinstance(item, TrackInfo) else {}
        return dataclasses.replace(item, title=meta.title or item.title, artist=meta.artist,
                                   tags=tuple(tags.top()), **extra)

    def tag_missing(self, *, progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> TagReport:
        """Tag every track that lacks tags, storing each as soon as it is done (resumable)."""
        done = for_each_track(self.store, self.missing(),
                              lambda track_id, record: self.tag(track_id, Path(record.meta["path"])),
                              progress=progress, cancel=cancel)
        return TagReport(done.done, done.failed, done.cancelled)
