"""The user-facing facade: a music library folder that can be added to and asked for suggestions.

A library folder holds ``store.lmdb`` (analysis per track, keyed by content hash) and the window
index (``index.npz``), which is derived from the store and rebuilt whenever it is missing or
older than the store. One process at a time may add tracks (``writer.lock``); any number may
read meanwhile.
"""
from __future__ import annotations

import dataclasses
import fcntl
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping

import numpy as np

from ..analysis import media
from . import descriptors
from ..analysis.beatgrid import BeatGridCorrection, corrected_beats, corrected_tempo_bpm
from ..errors import BgmatchError, LibraryError, MediaError
from .index import IndexConfig, WindowIndex
from ..analysis.motion import MotionConfig, VideoAnalysis, analyze_frames
from .retrieval import FusionConfig, Ranked, RetrievalConfig, recall, rerank
from ..analysis.rhythm import MusicAnalysis, RhythmConfig, analyze_music
from .store import FeatureStore, PathRecord, StoreWriteError, TrackRecord, content_hash
from ..analysis.sync import TrackCurves, track_curves, video_curves

if TYPE_CHECKING:  # torch is imported only once a model is used (keeps `bgmatch tracks` quick)
    from ..learned.embed import ModelBundle, MusicEmbedding, VideoEmbedding

#: Bumped when the analysis changes, so stored tracks are analysed again.
ANALYSIS_VERSION = 1
AUDIO_EXTENSIONS = frozenset({".ogg", ".oga", ".opus", ".mp3", ".flac", ".wav", ".m4a", ".aac", ".aif", ".aiff", ".wma"})

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class LibraryConfig:
    """Analysis settings of a library."""

    rhythm: RhythmConfig = field(default_factory=RhythmConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    max_track_s: float = 20 * 60.0
    max_video_s: float = 20 * 60.0
    min_video_s: float = 1.0


@dataclass
class AddReport:
    """What :meth:`Library.add` did with each input."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line message)
    cancelled: bool = False


@dataclass
class EmbedReport:
    """What :meth:`Library.embed` did: track ids embedded, failures (id, one-line message)."""

    embedded: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


@dataclass(frozen=True)
class VideoQuery:
    """A decoded query video (:meth:`Library.query`): its analysis and, when a model was set,
    its learned embedding and that model's version."""

    path: str
    analysis: VideoAnalysis
    embedding: VideoEmbedding | None = None
    model_version: str = ""


@dataclass(frozen=True)
class TrackInfo:
    """A track as listed to users."""

    track_id: str
    path: str
    title: str
    duration_s: float
    tempo_bpm: float


@dataclass(frozen=True)
class Suggestion:
    """One ranked track for a video."""

    rank: int
    track_id: str
    path: str
    title: str
    score: float
    offset_s: float
    parts: dict[str, float]
    tempo_bpm: float
    duration_s: float


def iter_media_files(paths: Iterable[str | os.PathLike[str]], *, extensions: frozenset[str] = AUDIO_EXTENSIONS,
                     errors: list[tuple[str, str]] | None = None) -> Iterator[Path]:
    """Files named directly, and files with a known extension under named folders (recursively).

    Symbolic links to folders are not followed (no loops); unreadable folders are reported in
    ``errors`` as (path, message) and skipped.
    """
    def onerror(exc: OSError) -> None:
        if errors is not None:
            errors.append((str(exc.filename), f"{exc.filename}: cannot read folder ({exc.strerror})"))

    for p in map(Path, paths):
        if p.is_dir():
            for root, dirs, files in os.walk(p, onerror=onerror, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    f = Path(root) / name
                    if f.suffix.lower() in extensions:
                        yield f
        else:
            yield p


def _analysis_record(path: Path, track_id: str, config: LibraryConfig) -> TrackRecord:
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
    }
    arrays = {**music.arrays(), "window_vectors": vectors, "window_starts_s": starts}
    return TrackRecord(track_id, meta, arrays)


class Library:
    """A music library on disk. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, folder: Path, store: FeatureStore, config: LibraryConfig) -> None:
        self.folder = folder
        self.store = store
        self.config = config
        self._index: WindowIndex | None = None
        self._curves: dict[str, TrackCurves] = {}
        self._curves_generation = -1
        self._model: ModelBundle | None = None

    @classmethod
    def open(cls, folder: str | os.PathLike[str], *, create: bool = True, config: LibraryConfig | None = None) -> "Library":
        """Open (or create) the library in ``folder``."""
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
        return cls(folder, FeatureStore(folder / "store.lmdb"), config or LibraryConfig())

    def close(self) -> None:
        """Release the store."""
        self.store.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.store)

    # -- adding music ----------------------------------------------------------------------
    def add(self, paths: Iterable[str | os.PathLike[str]], *, progress: ProgressFn | None = None,
            cancel: CancelFn | None = None) -> AddReport:
        """Analyse and store audio files (folders are searched recursively).

        Unchanged files (same size and modification time, or same content) are not decoded
        again. A file that fails is reported in ``failed`` and the others go on.
        """
        report = AddReport()
        with self.writing():
            files = list(iter_media_files(paths, errors=report.failed))
            self._add_all(files, report, progress, cancel)
            if report.added:
                self.index()  # rebuild now so the next suggest is fast
        return report

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the library's writer lock; raise :class:`LibraryError` if another process has it."""
        lock_path = self.folder / "writer.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LibraryError(f"{self.folder}: cannot write to the library ({exc.strerror})") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise LibraryError(f"{self.folder}: another process (pid {holder}) is adding to this "
                                   "library; try again when it has finished") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _add_all(self, files: list[Path], report: AddReport, progress: ProgressFn | None,
                 cancel: CancelFn | None) -> None:
        for i, path in enumerate(files):
            if cancel is not None and cancel():
                report.cancelled = True
                break
            if progress is not None:
                progress(i, len(files), str(path))
            try:
                self._add_one(path.absolute(), report)
            except StoreWriteError:
                raise  # the disk, not the file: the rest of the batch would fail alike
            except BgmatchError as exc:
                report.failed.append((str(path), str(exc)))
            except OSError as exc:
                report.failed.append((str(path), f"{path}: {exc.strerror or exc}"))
        if progress is not None and not report.cancelled:
            progress(len(files), len(files), "")

    def _add_one(self, path: Path, report: AddReport) -> None:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise MediaError(path, "not a regular file")
        key = str(path)
        known = self.store.path_record(key)
        if known and known.size == st.st_size and known.mtime_ns == st.st_mtime_ns and self._current(known.track_id):
            report.unchanged.append(key)
            return
        if not os.access(path, os.R_OK):
            raise MediaError(path, "permission denied")
        track_id = content_hash(path)
        record = PathRecord(track_id, st.st_size, st.st_mtime_ns)
        if self._current(track_id):
            self.store.put(key, record)
            report.unchanged.append(key)
            return
        self.store.put(key, record, _analysis_record(path, track_id, self.config))
        report.added.append(key)
        if self._model is not None:
            self._embed_one(track_id, self._model)

    def _current(self, track_id: str) -> bool:
        if not self.store.has_track(track_id):
            return False
        return self.store.get(track_id).meta.get("analysis_version") == ANALYSIS_VERSION

    # -- learned model ---------------------------------------------------------------------
    @property
    def model(self) -> ModelBundle | None:
        """The trained model fused into ranking (None: the analysis-only score)."""
        return self._model

    def set_model(self, bundle: ModelBundle | None) -> None:
        """Rank with ``bundle`` fused into the score from now on (None: analysis only).

        Tracks need its embeddings (:meth:`embed`, or :meth:`add` while it is set); they are
        stored per model version, so switching back to an earlier model re-embeds nothing.
        """
        self._model = bundle

    def missing_embeddings(self, bundle: ModelBundle | None = None) -> list[str]:
        """Ids of the tracks without an embedding for ``bundle`` (default: the current model)."""
        bundle = bundle or self._model
        if bundle is None:
            return []
        have = self.store.embedded_ids(bundle.music_version)
        return [t for t in self.store.track_ids() if t not in have]

    def embed(self, *, bundle: ModelBundle | None = None, progress: ProgressFn | None = None,
              cancel: CancelFn | None = None) -> EmbedReport:
        """Store the music embeddings of ``bundle`` (default: the current model) for every track
        that lacks them. Resumable: each track is stored as soon as it is done."""
        bundle = bundle or self._model
        report = EmbedReport()
        if bundle is None:
            return report
        todo = self.missing_embeddings(bundle)
        for i, track_id in enumerate(todo):
            if cancel is not None and cancel():
                report.cancelled = True
                break
            record = self.store.get(track_id)
            if progress is not None:
                progress(i, len(todo), record.meta["path"])
            try:
                self._embed_one(track_id, bundle, record)
                report.embedded.append(track_id)
            except StoreWriteError:
                raise
            except (BgmatchError, OSError) as exc:
                report.failed.append((track_id, str(exc)))
        if progress is not None and not report.cancelled:
            progress(len(todo), len(todo), "")
        return report

    def _embed_one(self, track_id: str, bundle: ModelBundle, rec: TrackRecord | None = None) -> MusicEmbedding:
        from ..learned.embed import MusicInputs, music_inputs
        from ..analysis.features import log_mel

        rec = self.store.get(track_id) if rec is None else rec
        features = bundle.features
        path = Path(rec.meta["path"])
        try:
            mel_y = media.decode_audio(path, sr_hz=features.sr_hz, max_duration_s=self.config.max_track_s)
        except MediaError as exc:
            if not path.exists():
                raise MediaError(path, "file is gone (moved or deleted); add it again") from None
            raise exc
        if features.rhythm() == self.config.rhythm:
            analysis = MusicAnalysis.from_arrays(rec.arrays)  # the stored one: no second beat tracking
            inputs = MusicInputs(log_mel(mel_y, config=features.mel()).numpy(), analysis, len(mel_y) / features.sr_hz)
        else:  # other rhythm settings: analyse again as the model expects
            inputs = music_inputs(path, config=features, max_duration_s=self.config.max_track_s)
        embedding = bundle.embed_music(inputs, hop_s=self.config.fusion.music_hop_s or features.clip_s)
        self.store.put_embedding(bundle.music_version, track_id, embedding.arrays())
        return embedding

    def _stored_embedding(self, track_id: str, bundle: ModelBundle) -> MusicEmbedding | None:
        from ..learned.embed import MusicEmbedding

        arrays = self.store.get_embedding(bundle.music_version, track_id)
        return None if arrays is None else MusicEmbedding.from_arrays(arrays)

    # -- reading ---------------------------------------------------------------------------
    def tracks(self) -> list[TrackInfo]:
        """Every track in the library, by title."""
        out = []
        for rec in self.store.tracks():
            music = MusicAnalysis.from_arrays(rec.arrays)
            out.append(TrackInfo(rec.track_id, rec.meta["path"], rec.meta["title"], music.duration_s, music.tempo_bpm))
        return sorted(out, key=lambda t: t.title.lower())

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
        """The stored rhythm analysis of a track."""
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

    def scoring_analysis(self, track_id: str) -> MusicAnalysis:
        """The track's analysis with the user's beat-grid correction (``beat_grid`` meta) applied:
        what ranking uses. :meth:`music_analysis` stays as analysed."""
        rec = self.store.get(track_id)
        music = MusicAnalysis.from_arrays(rec.arrays)
        correction = BeatGridCorrection.from_meta(rec.meta)
        if correction.is_identity:
            return music
        beats = corrected_beats(music.beat_times_s, correction, duration_s=music.duration_s)
        return dataclasses.replace(music, beat_times_s=beats,
                                   tempo_bpm=corrected_tempo_bpm(music.tempo_bpm, correction))

    def _track_curves(self, track_ids: list[str]) -> dict[str, TrackCurves]:
        gen = self.store.generation
        if gen != self._curves_generation:
            self._curves, self._curves_generation = {}, gen
        for t in track_ids:
            if t not in self._curves:
                self._curves[t] = track_curves(self.scoring_analysis(t), config=self.config.retrieval.sync)
        return {t: self._curves[t] for t in track_ids}

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
        from ..learned.embed import subsample_frames, video_inputs_from_frames

        sub, times = subsample_frames(frames.frames, frames.times_s, fps=bundle.features.video_fps)
        embedding = bundle.embed_video(video_inputs_from_frames(sub, times, duration_s=frames.duration_s,
                                                                config=bundle.features))
        return VideoQuery(str(path), analysis, embedding, bundle.version)

    def suggest(self, video: str | os.PathLike[str] | VideoQuery | VideoAnalysis, *, top: int = 10
                ) -> list[Suggestion]:
        """Tracks ranked by how well they fit ``video``, each with its best start offset.

        With a model set (:meth:`set_model`), the best synchrony candidates are re-ordered by the
        fused score (``engine.fusion``) when ``video`` is a path or a :class:`VideoQuery` made
        with that model; candidates not yet embedded for it are embedded first (:meth:`embed`
        does them all with progress). A bare ``VideoAnalysis`` is ranked by synchrony alone.
        """
        if isinstance(video, VideoAnalysis):
            video = VideoQuery("", video)
        elif not isinstance(video, VideoQuery):
            video = self.query(video)
        ranked = self.sync_ranking(video.analysis, want=top)
        bundle = self._model
        if bundle is not None and video.embedding is not None and video.model_version == bundle.version:
            from ..learned.fusion import fuse

            fc = self.config.fusion
            weight = bundle.score_config.fusion_weight if fc.weight is None else fc.weight
            ranked = fuse(ranked, self.learned_at_sync(video, ranked), weight=weight)
        out = []
        for i, r in enumerate(ranked[:top]):
            rec = self.store.get(r.track_id)
            music = MusicAnalysis.from_arrays(rec.arrays)
            out.append(Suggestion(i + 1, r.track_id, rec.meta["path"], rec.meta["title"], r.score, r.offset_s,
                                  r.parts, music.tempo_bpm, music.duration_s))
        return out

    def sync_ranking(self, analysis: VideoAnalysis, *, want: int = 10) -> list[Ranked]:
        """Tracks by the analysis-only synchrony score at their best offsets, best first (every
        track in small libraries, else at least ``want`` recalled from the window index)."""
        n_tracks = len(self.store)
        if n_tracks == 0:
            raise LibraryError(f"{self.folder}: the library has no tracks (run `bgmatch index FOLDER`)")
        rc = self.config.retrieval
        if n_tracks <= rc.exact_below_tracks:
            ids = self.store.track_ids()
        else:
            ids = recall(self.index(), descriptors.video_query_vector(analysis), n_tracks=n_tracks,
                         want=max(rc.candidate_tracks, want))
        return rerank(video_curves(analysis, config=rc.sync), self._track_curves(ids), config=rc.sync)

    def learned_at_sync(self, video: VideoQuery, ranked: list[Ranked], *, bundle: ModelBundle | None = None,
                        candidates: int | None = None) -> dict[str, float]:
        """What fusion adds: the learned score of each of the best ``candidates`` (default
        ``FusionConfig.candidates``) synchrony-ranked tracks, at its synchrony offset."""
        top = ranked[:self.config.fusion.candidates if candidates is None else candidates]
        learned = self.learned_scores(video, [r.track_id for r in top], bundle=bundle,
                                      offsets_s={r.track_id: r.offset_s for r in top})
        return {t: score for t, (score, _) in learned.items()}

    def learned_scores(self, video: VideoQuery, track_ids: list[str], *, bundle: ModelBundle | None = None,
                       offsets_s: Mapping[str, float] | None = None) -> dict[str, tuple[float, float]]:
        """(learned score, its window's offset s) of ``video`` against each track, with ``bundle``
        (default: the current model), embedding the tracks it lacks: at the window nearest each
        track's offset in ``offsets_s``, else its best window. A track whose file is gone gets
        the worst score of the others (at offset 0)."""
        from ..learned.fusion import learned_scores

        bundle = bundle or self._model
        if bundle is None or video.embedding is None or video.model_version != bundle.version:
            raise LibraryError("learned scores need a model and a query made with it (Library.query)")

        def music(track_id: str) -> MusicEmbedding | None:
            embedding = self._stored_embedding(track_id, bundle)
            if embedding is None:
                try:
                    embedding = self._embed_one(track_id, bundle)
                except (MediaError, OSError):
                    return None
            return embedding

        scores = learned_scores(bundle, video.embedding, track_ids, music, offsets_s=offsets_s)
        worst = min((s for s, _ in scores.values()), default=0.0)
        return {t: scores.get(t, (worst, 0.0)) for t in track_ids}
