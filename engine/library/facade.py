"""The ``Library``: a music library folder that can be added to and asked for suggestions.

A library folder holds ``store.lmdb`` (analysis per track, keyed by content hash), the window
index (``index.npz``, derived from the store and rebuilt whenever it is missing or older than the
store) and ``library.json`` (its settings and the versions of what it stores). One process at a
time may add tracks (``writer.lock``); any number may read meanwhile.
"""
from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..analysis import media
from ..analysis.beatgrid import META_KEY, BeatGridCorrection, corrected_bars, corrected_beats
from ..analysis.motion import VideoAnalysis, analyze_frames
from ..analysis.rhythm import MusicAnalysis
from ..analysis.sync import Ranked
from ..analysis.waveform import Waveform, load_waveform
from ..errors import BgmatchError, LibraryError, MediaError
from ..output.fit import FitConfig, FitPlan
from ..output.fit_render import fit_track
from ..progress import CancelFn, ProgressFn, cancelled, report
from . import descriptors, embedding
from .index import WindowIndex
from .batch import for_each_track
from .lock import writer_lock
from .records import analysed_audio, held_track_id, is_current, with_user_meta
from .results import AddReport, EmbedReport, SearchHit, Suggestion, TagReport, TrackDetails, TrackInfo, VideoQuery
from .ranking import Ranker
from .settings import LibraryConfig, read_settings, settings_record, write_settings
from .store import FeatureStore, PathRecord, StoreWriteError, TrackRecord, content_hash
from .tags import LibraryTags, TrackTags
from .walk import iter_media_files

if TYPE_CHECKING:  # torch is imported only once a model is used (keeps `bgmatch tracks` quick)
    from ..learned.bundle import ModelBundle


class Library:
    """A music library on disk. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, folder: Path, store: FeatureStore, config: LibraryConfig) -> None:
        self.folder = folder
        self.store = store
        self.config = config
        self._index: WindowIndex | None = None
        self._model: ModelBundle | None = None
        self._tags = LibraryTags(store, max_track_s=config.max_track_s)
        self._ranker = Ranker(store, config, scoring_analysis=self.scoring_analysis, index=self.index)

    @classmethod
    def open(cls, folder: str | os.PathLike[str], *, create: bool = True, config: LibraryConfig | None = None) -> "Library":
        """Open (or create) the library in ``folder``, with ``config`` or else the settings
        recorded in its ``library.json`` (defaults for a new library)."""
        folder = Path(folder).expanduser()
        if folder.exists() and not folder.is_dir():
            raise LibraryError(f"{folder}: not a folder")
        if not folder.exists():
            if not create:
                raise LibraryError(f"{folder}: no library here (run `bgmatch index` first)")
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise LibraryError(f"{folder}: cannot create the library folder ({exc.strerror})") from None
        config = config or read_settings(folder) or LibraryConfig()
        return cls(folder, FeatureStore(folder / "store.lmdb"), config)

    def close(self) -> None:
        """Release the store."""
        self.store.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.store)

    def _record_settings(self) -> None:
        model = self._model
        write_settings(self.folder, settings_record(
            self.config, model_version=model.version if model else "",
            embedding=embedding.key(model, self.config) if model else ""))

    # -- adding music ----------------------------------------------------------------------
    def add(self, paths: Iterable[str | os.PathLike[str]], *, progress: ProgressFn | None = None,
            cancel: CancelFn | None = None) -> AddReport:
        """Analyse and store audio files (folders are searched recursively).

        Unchanged files (same size and modification time, or same content) are not decoded
        again. A file that fails is reported in ``failed`` and the others go on. (On a Ray
        cluster: ``engine.library.add_with_ray``.)
        """
        result = AddReport()
        with self.writing():
            self._record_settings()
            files = list(iter_media_files(paths, errors=result.failed))
            for i, path in enumerate(files):
                if cancelled(cancel):
                    result.cancelled = True
                    break
                report(progress, i, len(files), str(path))
                try:
                    self._add_one(path.absolute(), result)
                except StoreWriteError:
                    raise  # the disk, not the file: the rest of the batch would fail alike
                except BgmatchError as exc:
                    result.failed.append((str(path), str(exc)))
                except OSError as exc:
                    result.failed.append((str(path), f"{path}: {exc.strerror or exc}"))
            if not result.cancelled:
                report(progress, len(files), len(files), "")
            if result.added:
                self.index()  # rebuild now so the next suggest is fast
        return result

    def writing(self):
        """Hold the library's writer lock (``LibraryError`` if another process has it)."""
        return writer_lock(self.folder)

    def _add_one(self, path: Path, result: AddReport) -> None:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise MediaError(path, "not a regular file")
        key = str(path)
        known = self.store.path_record(key)
        if known and known.size == st.st_size and known.mtime_ns == st.st_mtime_ns and self.is_current(known.track_id):
            result.unchanged.append(key)
            return
        if not os.access(path, os.R_OK):
            raise MediaError(path, "permission denied")
        track_id = content_hash(path)
        record = PathRecord(track_id, st.st_size, st.st_mtime_ns)
        if self.is_current(track_id):
            self.store.put(key, record)
            result.unchanged.append(key)
            return
        track, audio = analysed_audio(path, track_id, self.config)
        self.store.put(key, record, with_user_meta(track, self.store))
        result.added.append(key)
        if self._model is not None:
            embedding.embed_track(self.store, self._model, track_id, config=self.config)
        self._tags.tag(track_id, path, audio=audio, sr_hz=self.config.rhythm.sr_hz)

    def is_current(self, track_id: str) -> bool:
        """Whether a track is stored and analysed under this library's settings."""
        return is_current(self.store, track_id, self.config)

    # -- learned model ---------------------------------------------------------------------
    @property
    def model(self) -> ModelBundle | None:
        """The trained model fused into ranking (None: the analysis-only score)."""
        return self._model

    def set_model(self, bundle: ModelBundle | None) -> None:
        """Rank with ``bundle`` fused into the score from now on (None: analysis only).

        Tracks need its embeddings (:meth:`embed`, or :meth:`add` while it is set); they are
        stored per model version and hop, so switching back to an earlier model re-embeds nothing.
        """
        self._model = bundle

    def missing_embeddings(self, bundle: ModelBundle | None = None) -> list[str]:
        """Ids of the tracks without an embedding for ``bundle`` (default: the current model)."""
        bundle = bundle or self._model
        if bundle is None:
            return []
        have = self.store.embedded_ids(embedding.key(bundle, self.config))
        return [t for t in self.store.track_ids() if t not in have]

    def embed(self, *, bundle: ModelBundle | None = None, progress: ProgressFn | None = None,
              cancel: CancelFn | None = None) -> EmbedReport:
        """Store the music embeddings of ``bundle`` (default: the current model) for every track
        that lacks them. Resumable: each track is stored as soon as it is done."""
        bundle = bundle or self._model
        if bundle is None:
            return EmbedReport()
        todo = self.missing_embeddings(bundle)

        def work(track_id: str, record: TrackRecord) -> None:
            embedding.embed_track(self.store, bundle, track_id, config=self.config, record=record)

        done = for_each_track(self.store, todo, work, progress=progress, cancel=cancel)
        return EmbedReport(done.done, done.failed, done.cancelled)

    # -- tags ------------------------------------------------------------------------------
    def set_tagging(self, enabled: bool) -> None:
        """Tag tracks as they are added (default) or not (:meth:`tag` does them later)."""
        self._tags.enabled = enabled

    def missing_tags(self) -> list[str]:
        """Ids of the tracks without tags from the shipped tagger (empty when it is missing:
        one warning says so)."""
        return self._tags.missing()

    def tag(self, *, progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> TagReport:
        """Tag every track that lacks tags (and read its file's metadata). Resumable: each
        track is stored as soon as it is done; nothing happens without a tagger."""
        return self._tags.tag_missing(progress=progress, cancel=cancel)

    def track_tags(self, track_id: str) -> TrackTags | None:
        """A track's stored tags and file metadata (None when it is not tagged)."""
        return self._tags.get(track_id)

    # -- reading ---------------------------------------------------------------------------
    def tracks(self) -> list[TrackInfo]:
        """Every track in the library, by title (tempo after the user's beat-grid correction;
        title and artist from the file's own tags where it has them)."""
        out = []
        for rec in self.store.tracks():
            music = MusicAnalysis.from_arrays(rec.arrays)
            tempo = music.tempo_bpm * BeatGridCorrection.from_meta(rec.meta).tempo_factor
            out.append(self._described(TrackInfo(rec.track_id, rec.meta["path"], rec.meta["title"],
                                                 music.duration_s, tempo)))
        return sorted(out, key=lambda t: t.title.lower())

    def _described(self, item):
        """``item`` (a TrackInfo or Suggestion) with the track's stored metadata and top tags."""
        return self._tags.described(item)

    def check(self) -> list[str]:
        """Integrity problems of the library (empty when sound).

        Every track record must decode; every remembered path must name a stored track; a saved
        index must be readable (a stale one is fine: it is rebuilt on use).
        """
        problems = []
        ids = set()
        try:
            for rec in self.store.tracks():
                MusicAnalysis.from_arrays(rec.arrays)
                ids.add(rec.track_id)
        except (BgmatchError, KeyError, ValueError) as exc:
            problems.append(f"unreadable track record: {exc}")
        for path, record in self.store.paths().items():
            if record.track_id not in ids:
                problems.append(f"{path}: names track {record.track_id}, which is not stored")
        if (self.folder / "index.npz").exists():
            idx = WindowIndex.load(self.folder)
            if idx is None:
                problems.append(f"{self.folder / 'index.npz'}: unreadable")
            elif idx.generation == self.store.generation and set(idx.track_ids) - ids:
                problems.append("the index names tracks that are not stored")
        return problems

    def music_analysis(self, track_id: str) -> MusicAnalysis:
        """The stored rhythm analysis of a track (as analysed, before any correction)."""
        return MusicAnalysis.from_arrays(self.store.get(track_id).arrays)

    def index(self) -> WindowIndex:
        """The window index, rebuilt (and saved when the folder is writable) if stale."""
        gen = self.store.generation
        if self._index is not None and self._index.generation == gen:
            return self._index
        idx = WindowIndex.load(self.folder)
        if idx is None or idx.generation != gen:
            vecs, ids, starts = [], [], []
            for rec in self.store.tracks():
                v = rec.arrays["window_vectors"]
                vecs.append(v)
                ids.extend([rec.track_id] * len(v))
                starts.append(rec.arrays["window_starts_s"])
            matrix = np.concatenate(vecs) if vecs else np.zeros((0, descriptors.DIM), np.float32)
            idx = WindowIndex.build(matrix, ids, np.concatenate(starts) if starts else np.zeros(0),
                                    generation=gen, config=self.config.index)
            try:
                idx.save(self.folder)
            except OSError:
                pass  # read-only or full disk: the in-memory index serves this process
        self._index = idx
        return idx

    # -- beat grid -------------------------------------------------------------------------
    def beat_correction(self, track_id: str) -> BeatGridCorrection:
        """The user's beat-grid correction of a track (identity when there is none)."""
        return BeatGridCorrection.from_meta(self.store.get(track_id).meta)

    def set_beat_correction(self, track_id: str, correction: BeatGridCorrection) -> None:
        """Keep a beat-grid correction of a track in the library; ranking uses it from now on."""
        self.store.update_meta(track_id, **{META_KEY: None if correction.is_identity else correction.to_meta()})

    def track_details(self, track_id: str, correction: BeatGridCorrection | None = None) -> TrackDetails:
        """A track's stored analysis under ``correction`` (default: its stored one)."""
        rec = self.store.get(track_id)
        music = MusicAnalysis.from_arrays(rec.arrays)
        correction = BeatGridCorrection.from_meta(rec.meta) if correction is None else correction
        beats = corrected_beats(music.beat_times_s, correction, duration_s=music.duration_s)
        downs, phrases, sections = corrected_bars(music.downbeat_times_s, music.phrase_times_s, music.section_times_s,
                                                  correction, corrected_beat_times_s=beats,
                                                  duration_s=music.duration_s)
        return TrackDetails(track_id, music, correction, beats, downbeat_times_s=tuple(map(float, downs)),
                            section_times_s=tuple(map(float, sections)), phrase_times_s=tuple(map(float, phrases)))

    def waveform(self, path: str | os.PathLike[str]) -> Waveform:
        """The min/max waveform of an audio file (a track, or a fitted render), for drawing;
        decoded once and kept in memory (``MediaError`` when it cannot be decoded)."""
        return load_waveform(path)

    def scoring_analysis(self, track_id: str) -> MusicAnalysis:
        """The track's analysis with the user's beat-grid correction applied: what ranking uses.
        :meth:`music_analysis` stays as analysed."""
        details = self.track_details(track_id)
        if details.correction.is_identity:
            return details.music
        return dataclasses.replace(details.music, beat_times_s=details.beat_times_s, tempo_bpm=details.tempo_bpm,
                                   downbeat_times_s=np.asarray(details.downbeat_times_s, np.float64),
                                   phrase_times_s=np.asarray(details.phrase_times_s, np.float64),
                                   section_times_s=np.asarray(details.section_times_s, np.float64))

    def stored_analysis(self, path: str | os.PathLike[str]) -> MusicAnalysis | None:
        """:meth:`scoring_analysis` of the audio file ``path`` when the library holds it as it is
        now, else None."""
        track_id = held_track_id(self.store, path, self.config)
        return None if track_id is None else self.scoring_analysis(track_id)

    def fit_plan(self, track: str | os.PathLike[str], *, offset_s: float, duration_s: float,
                 config: FitConfig = FitConfig()) -> FitPlan:
        """Plan the fit of ``track`` to ``duration_s`` from ``offset_s`` at its bar lines: the
        stored, corrected beats and downbeats when the library holds the file, else analysed now."""
        return fit_track(track, offset_s=offset_s, duration_s=duration_s, analysis=self.stored_analysis(track),
                         config=config)

    def similar(self, track_id: str, track_ids: Iterable[str]) -> dict[str, float]:
        """"More like this": how alike each of ``track_ids`` is to ``track_id`` in rhythm and
        energy (corrected tempi), 1.0 for the track itself."""
        from .similar import similar_tracks, track_profile  # scipy: only when asked

        profiles = {}
        for tid in dict.fromkeys([track_id, *track_ids]):
            details = self.track_details(tid)
            profiles[tid] = track_profile(details.music, tempo_bpm=details.tempo_bpm)
        ranked = dict(similar_tracks(track_id, profiles))
        ranked[track_id] = 1.0
        return ranked

    # -- suggesting ------------------------------------------------------------------------
    def decode_video(self, path: str | os.PathLike[str]) -> media.Frames:
        """The video's frames at the analysis rate (``MediaError`` for bad or too short videos)."""
        cfg = self.config.motion
        frames = media.decode_frames(path, fps=cfg.fps, width_px=cfg.width_px, max_duration_s=self.config.max_video_s)
        if len(frames.frames) < 2:
            raise MediaError(path, "video has a single frame; nothing to match music to")
        if frames.duration_s < self.config.min_video_s:
            raise MediaError(path, f"video is too short ({frames.duration_s:.2f} s; at least "
                                   f"{self.config.min_video_s:g} s needed)")
        return frames

    def analyze_video(self, path: str | os.PathLike[str]) -> VideoAnalysis:
        """Decode a video at the analysis rate and measure its motion and cuts."""
        frames = self.decode_video(path)
        return analyze_frames(frames.frames, frames.times_s, duration_s=frames.duration_s, config=self.config.motion)

    def query(self, path: str | os.PathLike[str], *, bundle: ModelBundle | None = None,
              frames: media.Frames | None = None, analysis: VideoAnalysis | None = None) -> VideoQuery:
        """Decode a video once (or take its ``frames`` from :meth:`decode_video` and their
        ``analysis``): its analysis and, with a model (``bundle``, default the current one), its
        learned embedding."""
        frames = self.decode_video(path) if frames is None else frames
        if analysis is None:
            analysis = analyze_frames(frames.frames, frames.times_s, duration_s=frames.duration_s,
                                      config=self.config.motion)
        bundle = bundle or self._model
        if bundle is None:
            return VideoQuery(str(path), analysis)
        from ..learned.inputs import subsample_frames, video_inputs_from_frames

        sub, times = subsample_frames(frames.frames, frames.times_s, fps=bundle.features.video_fps)
        embedded = bundle.embed_video(video_inputs_from_frames(sub, times, duration_s=frames.duration_s,
                                                               config=bundle.features))
        return VideoQuery(str(path), analysis, embedded, bundle.version)

    def search(self, text: str, *, top: int = 10) -> list[SearchHit]:
        """Tagged tracks ranked by how well their tags fit ``text`` ("calm piano"): ``ConfigError``
        for an empty text, ``NoTextMatchError`` (a ``ConfigError``) for a text near no tag,
        ``LibraryError`` when no track is tagged."""
        from .search import text_ranking

        found = text_ranking(self.store, text)
        infos = {t.track_id: t for t in self.tracks()}
        order = sorted(found.scores, key=lambda t: -found.scores[t])[:top]
        return [SearchHit(i + 1, infos[t], found.scores[t], found.matched) for i, t in enumerate(order)]

    def suggest(self, video: str | os.PathLike[str] | VideoQuery | VideoAnalysis, *, top: int = 10,
                text: str | None = None, text_weight: float = 0.0) -> list[Suggestion]:
        """Tracks ranked by how well they fit ``video``, each with its best start offset.

        With ``text`` and ``text_weight`` W > 0 the candidates are re-ordered by
        ``(1 − W)·z(video score) + W·z(text score)`` (``search.blend``; W = 0 is the video
        ranking exactly, 1 the text alone among them); pass a :class:`VideoQuery` to re-rank
        for another text without decoding the video again.

        With a model set (:meth:`set_model`), the best synchrony candidates are re-ordered by the
        fused score (``learned.fusion``) when ``video`` is a path or a :class:`VideoQuery` made
        with that model; candidates not yet embedded for it are embedded first (:meth:`embed`
        does them all with progress). A bare ``VideoAnalysis`` is ranked by synchrony alone.
        """
        if isinstance(video, VideoAnalysis):
            video = VideoQuery("", video)
        elif not isinstance(video, VideoQuery):
            video = self.query(video)
        steer = text is not None and text_weight > 0.0
        if text is not None:
            from .search import SUGGEST_CANDIDATES, blend, text_ranking

            words = text_ranking(self.store, text)  # bad text fails before any work
            blend([], words, text_weight=text_weight)  # checks the weight
        ranked = self.sync_ranking(video.analysis, want=max(top, SUGGEST_CANDIDATES) if steer else top)
        bundle = self._model
        if bundle is not None and video.embedding is not None and video.model_version == bundle.version:
            ranked = self._ranker.fused(video, ranked, bundle)
        if steer:
            ranked = blend(ranked, words, text_weight=text_weight)
        out = []
        for i, r in enumerate(ranked[:top]):
            rec = self.store.get(r.track_id)
            music = MusicAnalysis.from_arrays(rec.arrays)
            tempo = music.tempo_bpm * BeatGridCorrection.from_meta(rec.meta).tempo_factor
            out.append(self._described(Suggestion(i + 1, r.track_id, rec.meta["path"], rec.meta["title"], r.score,
                                                  r.offset_s, r.parts, tempo, music.duration_s)))
        return out

    def sync_ranking(self, analysis: VideoAnalysis, *, want: int = 10) -> list[Ranked]:
        """Tracks by the analysis-only synchrony score at their best offsets, best first (every
        track in small libraries, else at least ``want`` recalled from the window index)."""
        return self._ranker.sync_ranking(analysis, want=want)

    def learned_at_sync(self, video: VideoQuery, ranked: list[Ranked], *, bundle: ModelBundle | None = None,
                        candidates: int | None = None) -> dict[str, float]:
        """What fusion adds: the learned score of each of the best ``candidates`` (default
        ``FusionConfig.candidates``) synchrony-ranked tracks, at its synchrony offset."""
        return self._ranker.learned_at_sync(video, ranked, bundle=self._bundle(bundle), candidates=candidates)

    def learned_scores(self, video: VideoQuery, track_ids: list[str], *, bundle: ModelBundle | None = None,
                       offsets_s: Mapping[str, float] | None = None) -> dict[str, tuple[float, float]]:
        """(learned score, its window's offset s) of ``video`` against each track, with ``bundle``
        (default: the current model), embedding the tracks it lacks: at the window nearest each
        track's offset in ``offsets_s``, else its best window. A track whose file is gone gets
        the worst score of the others (at offset 0)."""
        return self._ranker.learned_scores(video, track_ids, bundle=self._bundle(bundle), offsets_s=offsets_s)

    def _bundle(self, bundle: ModelBundle | None) -> ModelBundle:
        bundle = bundle or self._model
        if bundle is None:
            raise LibraryError("learned scores need a model and a query made with it (Library.query)")
        return bundle
