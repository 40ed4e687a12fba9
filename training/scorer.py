"""A ranking adapter for evaluation harnesses: a trained bundle over a prepared split's gallery.

``EmbeddingScorer.rank(query)`` scores every gallery track at every start offset (clip starts
every ``hop_s`` from which the whole video fits in the track) with the learned score and returns the tracks best first with their best
offsets. It reads only the prepared ``music`` and ``video`` records and the split's gallery
list, never the ``items`` database, so it cannot see which track a query was cut to.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgmatch.engine.embed import EncodedWindows, ModelBundle, MusicEmbedding, MusicInputs, VideoInputs
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.rhythm import MusicAnalysis

from .prepared import PreparedStore


@dataclass(frozen=True)
class RankedTrack:
    """One gallery track for a query: its best learned score and the offset (s) it was reached at."""

    track_id: str
    score: float
    offset_s: float


class EmbeddingScorer:
    """Rank the gallery of ``split`` in the prepared folder for query videos with a model bundle."""

    def __init__(self, bundle: ModelBundle | str | os.PathLike[str], prepared_dir: str | os.PathLike[str],
                 split: str, *, hop_s: float | None = None, device: str | None = None) -> None:
        self.bundle = bundle if isinstance(bundle, ModelBundle) else ModelBundle.load(bundle, device=device)
        self.store = PreparedStore(prepared_dir, readonly=True)
        manifest = self.store.read_manifest()
        if manifest["features"] != dataclasses.asdict(self.bundle.features):
            raise ConfigError(f"{prepared_dir}: prepared with other [features] than the model bundle uses")
        self.split = split
        self.track_ids: list[str] = list(manifest["galleries"].get(split, []))
        if not self.track_ids:
            raise ConfigError(f"{prepared_dir}: split {split!r} has no gallery")
        self.tracks: dict[str, MusicEmbedding] = {t: self._embed_track(t, hop_s) for t in self.track_ids}
        self._windows: dict[tuple[str, int, int], EncodedWindows] = {}

    def close(self) -> None:
        self.store.close()

    def rank(self, query: str | os.PathLike[str]) -> list[RankedTrack]:
        """Gallery tracks for ``query`` (a prepared video id, or a video file), best first."""
        video = self.bundle.embed_video(self._video_inputs(query))
        encoded = self.bundle.encode_video(video)
        n_clips = len(video.clip_features)
        ranked = []
        for track_id in self.track_ids:
            offsets = self.bundle.window_offsets(self.tracks[track_id], span_s=video.duration_s)
            key = (track_id, n_clips, len(offsets))
            if key not in self._windows:
                self._windows[key] = self.bundle.encode_windows(self.tracks[track_id], n_clips=n_clips,
                                                                offsets_s=offsets)
            windows = self._windows[key]
            scores = self.bundle.score_windows(encoded, windows)
            best = int(np.argmax(scores))
            ranked.append(RankedTrack(track_id, float(scores[best]), float(windows.offsets_s[best])))
        ranked.sort(key=lambda r: (-r.score, r.track_id))
        return ranked

    def _embed_track(self, track_id: str, hop_s: float | None) -> MusicEmbedding:
        arrays, meta = self.store.get_arrays("music", track_id)
        inputs = MusicInputs(arrays["log_mel"].astype(np.float32), MusicAnalysis.from_arrays(arrays),
                             float(meta["duration_s"]))
        return self.bundle.embed_music(inputs, hop_s=hop_s)

    def _video_inputs(self, query: str | os.PathLike[str]) -> VideoInputs | Path:
        if isinstance(query, str) and self.store.has("video", query):
            arrays, meta = self.store.get_arrays("video", query)
            return VideoInputs(arrays["frames"], arrays["flow_tokens"], float(meta["duration_s"]))
        path = Path(query)
        if not path.is_file():
            raise ConfigError(f"query {str(query)!r} is neither a prepared video id nor a video file")
        return path
