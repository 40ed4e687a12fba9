"""Ranking a library's tracks for a video: synchrony over every offset, then the learned score
of the best candidates fused in. The library hands in its store and settings; the ranker keeps
what does not depend on the query (the tracks' sync curves, their encoded windows)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from ..analysis.motion import VideoAnalysis
from ..analysis.rhythm import MusicAnalysis
from ..analysis.sync import Ranked, TrackCurves, track_curves, video_curves
from ..errors import LibraryError, MediaError
from . import descriptors, embedding
from .index import WindowIndex
from .results import VideoQuery
from .retrieval import recall, rerank
from .settings import LibraryConfig
from .store import FeatureStore

if TYPE_CHECKING:  # torch is imported only once a model is used
    from ..learned.bundle import ModelBundle
    from ..learned.embeddings import MusicEmbedding


class Ranker:
    """Ranks the tracks of one store; ``scoring_analysis(track_id)`` gives a track's analysis
    with the user's beat-grid correction, ``index()`` the current window index."""

    def __init__(self, store: FeatureStore, config: LibraryConfig, *,
                 scoring_analysis: Callable[[str], MusicAnalysis], index: Callable[[], WindowIndex]) -> None:
        self.store = store
        self.config = config
        self._scoring_analysis = scoring_analysis
        self._index = index
        self._curves: dict[str, TrackCurves] = {}
        self._curves_generation = -1
        self._windows = embedding.WindowCache()

    def _track_curves(self, track_ids: list[str]) -> dict[str, TrackCurves]:
        gen = self.store.generation
        if gen != self._curves_generation:
            self._curves, self._curves_generation = {}, gen
        for t in track_ids:
            if t not in self._curves:
                self._curves[t] = track_curves(self._scoring_analysis(t), config=self.config.retrieval.sync)
        return {t: self._curves[t] for t in track_ids}

    def sync_ranking(self, analysis: VideoAnalysis, *, want: int = 10) -> list[Ranked]:
        """Tracks by the analysis-only synchrony score at their best offsets, best first (every
        track in small libraries, else at least ``want`` recalled from the window index)."""
        n_tracks = len(self.store)
        if n_tracks == 0:
            raise LibraryError(f"{self.store.path.parent}: the library has no tracks (run `bgmatch index FOLDER`)")
        rc = self.config.retrieval
        if n_tracks <= rc.exact_below_tracks:
            ids = self.store.track_ids()
        else:
            ids = recall(self._index(), descriptors.video_query_vector(analysis), n_tracks=n_tracks,
                         want=max(rc.candidate_tracks, want))
        return rerank(video_curves(analysis, config=rc.sync), self._track_curves(ids), config=rc.sync)

    def fused(self, video: VideoQuery, ranked: list[Ranked], bundle: ModelBundle) -> list[Ranked]:
        """``ranked`` re-ordered by synchrony fused with ``bundle``'s learned score."""
        from ..learned.fusion import fuse

        fc = self.config.fusion
        weight = bundle.score_config.fusion_weight if fc.weight is None else fc.weight
        return fuse(ranked, self.learned_at_sync(video, ranked, bundle=bundle), weight=weight)

    def learned_at_sync(self, video: VideoQuery, ranked: list[Ranked], *, bundle: ModelBundle,
                        candidates: int | None = None) -> dict[str, float]:
        """What fusion adds: the learned score of each of the best ``candidates`` (default
        ``FusionConfig.candidates``) synchrony-ranked tracks, at its synchrony offset."""
        top = ranked[:self.config.fusion.candidates if candidates is None else candidates]
        learned = self.learned_scores(video, [r.track_id for r in top], bundle=bundle,
                                      offsets_s={r.track_id: r.offset_s for r in top})
        return {t: score for t, (score, _) in learned.items()}

    def learned_scores(self, video: VideoQuery, track_ids: list[str], *, bundle: ModelBundle,
                       offsets_s: Mapping[str, float] | None = None) -> dict[str, tuple[float, float]]:
        """(learned score, its window's offset s) of ``video`` against each track, embedding the
        tracks that lack it: at the window nearest each track's offset in ``offsets_s``, else its
        best window. A track whose file is gone gets the worst score of the others (at offset 0)."""
        from ..learned.fusion import best_window_scores, scores_at_offsets

        if video.embedding is None or video.model_version != bundle.version:
            raise LibraryError("learned scores need a model and a query made with it (Library.query)")
        offsets_s = offsets_s or {}
        n_clips = len(video.embedding.clip_features)
        cached = {t: w for t in track_ids if t not in offsets_s
                  if (w := self._windows.get(bundle, t, n_clips)) is not None}
        music = self.music_embeddings([t for t in track_ids if t not in cached], bundle)
        scores = scores_at_offsets(bundle, video.embedding, {t: e for t, e in music.items() if t in offsets_s},
                                   offsets_s)
        cached.update({t: self._windows.put(bundle, t, e, n_clips) for t, e in music.items() if t not in offsets_s})
        windows = {t: w.fitting(bundle, video.embedding.duration_s) for t, w in cached.items()}
        scores.update(best_window_scores(bundle, video.embedding, windows))
        worst = min((s for s, _ in scores.values()), default=0.0)
        return {t: scores.get(t, (worst, 0.0)) for t in track_ids}

    def music_embeddings(self, track_ids: Iterable[str], bundle: ModelBundle) -> dict[str, MusicEmbedding]:
        """The embeddings of the tracks for ``bundle``, embedding those that lack one (a track
        whose file is gone or broken is left out)."""
        out = {}
        for track_id in track_ids:
            music = embedding.stored_embedding(self.store, bundle, track_id, config=self.config)
            if music is None:
                try:
                    music = embedding.embed_track(self.store, bundle, track_id, config=self.config)
                except (MediaError, OSError):
                    continue
            out[track_id] = music
        return out
