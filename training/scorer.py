"""A ranking adapter for evaluation harnesses: a trained model bundle over a gallery of tracks.

``GalleryScorer.rank(query)`` scores every gallery track at every start offset (clip starts
every ``hop_s`` from which the whole video fits in the track) with the learned score and returns
``[(track_id, offset_s), …]`` best first, as ``bgmatch eval`` expects of a method. The gallery
comes from a prepared split (:meth:`GalleryScorer.from_prepared`, which reads only the ``music``
and ``video`` records and the gallery list, never the ``items`` database) or from a
``Library`` (:func:`learned_method`, for ``bgmatch eval --method
bgmatch.training.scorer:learned_method``). Neither can see which track a query was cut to.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bgmatch.engine.embed import EncodedWindows, ModelBundle, MusicEmbedding, MusicInputs, VideoInputs
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.rhythm import MusicAnalysis

from .prepared import PreparedStore

#: Environment variable naming the model bundle folder for :func:`learned_method`.
BUNDLE_ENV = "BGMATCH_MODEL_BUNDLE"


@dataclass(frozen=True)
class RankedTrack:
    """One gallery track for a query: its best learned score and the offset (s) it was reached at."""

    track_id: str
    score: float
    offset_s: float


class GalleryScorer:
    """Rank gallery tracks (their music embeddings) for query videos with a model bundle."""

    name = "learned"

    def __init__(self, bundle: ModelBundle, tracks: Mapping[str, MusicEmbedding],
                 videos: PreparedStore | None = None) -> None:
        if not tracks:
            raise ConfigError("the gallery is empty")
        self.bundle = bundle
        self.tracks = dict(tracks)
        self._videos = videos
        self._windows: dict[tuple[str, int, int], EncodedWindows] = {}

    @classmethod
    def from_prepared(cls, bundle: ModelBundle | str | os.PathLike[str], prepared_dir: str | os.PathLike[str],
                      split: str, *, hop_s: float | None = None, device: str | None = None) -> "GalleryScorer":
        """The gallery of ``split`` in a prepared folder; queries may be its video ids."""
        bundle = bundle if isinstance(bundle, ModelBundle) else ModelBundle.load(bundle, device=device)
        store = PreparedStore(prepared_dir, readonly=True)
        manifest = store.read_manifest()
        if manifest["features"] != dataclasses.asdict(bundle.features):
            store.close()
            raise ConfigError(f"{prepared_dir}: prepared with other [features] than the model bundle uses")
        tracks = {}
        for track_id in manifest["galleries"].get(split, []):
            arrays, meta = store.get_arrays("music", track_id)
            inputs = MusicInputs(arrays["log_mel"].astype(np.float32), MusicAnalysis.from_arrays(arrays),
                                 float(meta["duration_s"]))
            tracks[track_id] = bundle.embed_music(inputs, hop_s=hop_s)
        return cls(bundle, tracks, videos=store)

    def close(self) -> None:
        if self._videos is not None:
            self._videos.close()

    def rank(self, query: str | os.PathLike[str]) -> list[tuple[str, float]]:
        """``[(track_id, offset_s), …]`` best first for ``query`` (a video file or a prepared video id)."""
        return [(r.track_id, r.offset_s) for r in self.rank_scored(query)]

    def rank_scored(self, query: str | os.PathLike[str]) -> list[RankedTrack]:
        """Like :meth:`rank`, with each track's best score."""
        video = self.bundle.embed_video(self._video_inputs(query))
        encoded = self.bundle.encode_video(video)
        n_clips = len(video.clip_features)
        ranked = []
        for track_id, music in self.tracks.items():
            offsets = self.bundle.window_offsets(music, span_s=video.duration_s)
            key = (track_id, n_clips, len(offsets))
            if key not in self._windows:
                self._windows[key] = self.bundle.encode_windows(music, n_clips=n_clips, offsets_s=offsets)
            windows = self._windows[key]
            scores = self.bundle.score_windows(encoded, windows)
            best = int(np.argmax(scores))
            ranked.append(RankedTrack(track_id, float(scores[best]), float(windows.offsets_s[best])))
        ranked.sort(key=lambda r: (-r.score, r.track_id))
        return ranked

    def _video_inputs(self, query: str | os.PathLike[str]) -> VideoInputs | Path:
        if isinstance(query, str) and self._videos is not None and self._videos.has("video", query):
            arrays, meta = self._videos.get_arrays("video", query)
            return VideoInputs(arrays["frames"], arrays["flow_tokens"], float(meta["duration_s"]))
        path = Path(query)
        if not path.is_file():
            raise ConfigError(f"query {str(query)!r} is neither a prepared video id nor a video file")
        return path


def learned_method(context: Any, *, bundle_dir: str | os.PathLike[str] | None = None,
                   hop_s: float | None = None) -> GalleryScorer:
    """A ``bgmatch eval`` method: the bundle at ``bundle_dir`` (default: ``$BGMATCH_MODEL_BUNDLE``)
    over the tracks of ``context.library``."""
    folder = bundle_dir or os.environ.get(BUNDLE_ENV)
    if not folder:
        raise ConfigError(f"the learned method needs a model bundle: set {BUNDLE_ENV}=<run>/model")
    bundle = ModelBundle.load(folder)
    tracks = {t.track_id: bundle.embed_music(t.path, hop_s=hop_s) for t in context.library.tracks()}
    return GalleryScorer(bundle, tracks)
