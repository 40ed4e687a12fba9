"""The app's long-running jobs as plain functions over the engine's public API (no Qt).

Each ``*_job`` returns a function ``(progress, cancel) -> result`` for
:class:`bgmatch.app.workers.JobRunner`; ``progress(done, total, message)`` is the engine's
protocol (``total`` 0: busy, amount unknown). They only call the engine and package its answers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from bgmatch.engine.errors import BgmatchError
from bgmatch.engine.library import (AddReport, BeatGridCorrection, CancelFn, EmbedReport, ExportConfig, ExportResult,
                                    FitConfig, FitMeasure, FitPlan, Library, MediaInfo, ProgressFn, Suggestion,
                                    TimelineResult, TrackInfo, VideoQuery, export_timeline, export_video,
                                    load_model_choice)
from bgmatch.engine.session import LoadedVideo, Ranking, TextSteer, rank

from .workers import CancelToken, JobCancelled, JobFn

if TYPE_CHECKING:  # the training package (and torch) is imported only when Retrain is opened
    from bgmatch.training.api import TrainConfig, TrainingMetrics, TrainResult

#: Most suggestions fetched for one video (the list is filtered and sorted in the app).
MAX_SUGGESTIONS = 200
#: ``progress(BUSY, BUSY, message)``: working, amount unknown.
BUSY = 0


@dataclass(frozen=True)
class SuggestResult:
    """A video's analysis and the ranked tracks for it; ``query`` (the decoded video) re-ranks it
    for another text, ``fits`` are the tracks' fit measures, ``message`` why a text was not applied."""

    video: LoadedVideo
    suggestions: list[Suggestion]
    library_size: int
    query: VideoQuery | None = None
    fits: dict[str, FitMeasure] = field(default_factory=dict)
    message: str = ""


def suggest_job(library: Library, video: Path, info: MediaInfo, steer: TextSteer = TextSteer()) -> JobFn:
    """Analyse ``video`` and rank the library's tracks for it, steered by ``steer`` (no ranking when
    the library is empty)."""

    def run(progress: ProgressFn, cancel: CancelToken) -> SuggestResult:
        progress(BUSY, BUSY, f"Analysing motion and cuts of {video.name}…")
        query = library.query(video)  # with a model set, also the video's learned embedding
        cancel.raise_if_cancelled()
        n = len(library)
        ranking = Ranking([])
        if n:
            progress(BUSY, BUSY, f"Ranking {n} track{'s' if n != 1 else ''}…")
            ranking = rank(library, query, steer, top=min(n, MAX_SUGGESTIONS), cancel=cancel)
        cancel.raise_if_cancelled()
        return SuggestResult(LoadedVideo(video, info, query.analysis), ranking.suggestions, n, query,
                             ranking.fits, ranking.message)

    return run


def warm_text_job(library: Library) -> JobFn:
    """Load the text model and the library's tag space once, ahead of the first words (a search
    for a word; the engine keeps both loaded), so the first re-ranking takes a second, not the
    model's loading time. A library without tags has nothing to load: no error."""

    def run(progress: ProgressFn, cancel: CancelToken) -> bool:
        progress(BUSY, BUSY, "Loading the text model…")
        try:
            library.search("music", top=1)
        except BgmatchError:
            return False
        return True

    return run


def rerank_job(library: Library, query: VideoQuery, steer: TextSteer,
               known: dict[str, FitMeasure]) -> JobFn:
    """Rank the decoded video ``query`` again under ``steer`` (no decoding; ``known`` fits reused)."""

    def run(progress: ProgressFn, cancel: CancelToken) -> Ranking:
        progress(BUSY, BUSY, f"Ranking for “{steer.text.strip()}”…" if steer.active else "Ranking by the video…")
        ranking = rank(library, query, steer, top=min(len(library), MAX_SUGGESTIONS), known=known, cancel=cancel)
        cancel.raise_if_cancelled()
        return ranking

    return run


def add_folder_job(library: Library, folders: list[Path]) -> JobFn:
    """Index audio files under ``folders``; stops between files when cancelled."""

    def run(progress: ProgressFn, cancel: CancelToken) -> AddReport:
        progress(BUSY, BUSY, "Looking for music files…")

        def report(done: int, total: int, path: str) -> None:
            name = Path(path).name if path else "done"
            progress(done, total, f"{done}/{total} · {name}")

        return library.add(folders, progress=report, cancel=cancel)

    return run


@dataclass(frozen=True)
class LibraryRow:
    """A library track (tempo after the user's beat-grid correction) and that correction."""

    info: TrackInfo
    correction: BeatGridCorrection
    n_beats: int

    @property
    def tempo_bpm(self) -> float:
        """Tempo after the correction."""
        return self.info.tempo_bpm


def list_tracks_job(library: Library) -> JobFn:
    """Every track of the library with its correction."""

    def run(progress: ProgressFn, cancel: CancelToken) -> list[LibraryRow]:
        rows = []
        for info in library.tracks():
            cancel.raise_if_cancelled()
            details = library.track_details(info.track_id)
            rows.append(LibraryRow(info, details.correction, details.n_beats))
        return rows

    return run


def similar_job(library: Library, query_id: str, track_ids: list[str]) -> JobFn:
    """Similarity of each of ``track_ids`` to ``query_id`` (corrected tempi), as a dict."""

    def run(progress: ProgressFn, cancel: CancelToken) -> dict[str, float]:
        progress(BUSY, BUSY, "Comparing tracks…")
        return library.similar(query_id, track_ids)

    return run


def export_job(video: Path, track: Path, offset_s: float, out_path: Path,
               config: ExportConfig = ExportConfig(), fit: FitPlan | FitConfig | None = None) -> JobFn:
    """Write the video with the track (fitted to the video when ``fit`` is given; see
    ``ExportRequest.fit``); the result holds the measured loudness. Cancelling stops it and
    leaves no partial file."""

    def run(progress: ProgressFn, cancel: CancelToken) -> ExportResult:
        if fit is not None and not isinstance(fit, FitPlan):
            progress(BUSY, BUSY, f"Fitting {track.name} to the video…")

        def report(done: int, total: int, message: str) -> None:
            cancel.raise_if_cancelled()  # the partial file is removed on the way out
            progress(done, total, f"Exporting {out_path.name}… {done / total:.0%}")

        return export_video(video, track, offset_s=offset_s, out_path=out_path, config=config, fit=fit,
                            progress=report)

    return run


def timeline_job(video: Path, track: Path, offset_s: float, out_path: Path, *, fit: FitPlan | FitConfig | None,
                 cut_times_s: list[float] | None = None) -> JobFn:
    """Write the timeline of the video with the track (the format from ``out_path``'s extension),
    with the segments of the fit plan (or of one planned with a ``FitConfig``) when given, else the
    track trimmed; ``cut_times_s``: the video's cuts already found (None: detect them)."""

    def run(progress: ProgressFn, cancel: CancelToken) -> TimelineResult:
        progress(BUSY, BUSY, f"Writing {out_path.name}…")
        cuts = None if cut_times_s is None else np.asarray(cut_times_s, np.float64)
        return export_timeline(video, track, offset_s=offset_s, out_path=out_path, fit=fit, cut_times_s=cuts)

    return run


@dataclass(frozen=True)
class ModelSwap:
    """A loaded model choice whose embeddings the library now has (``bundle`` None: analysis only)."""

    choice: str
    bundle: Any  # the loaded model bundle, None: analysis only
    report: EmbedReport = field(default_factory=EmbedReport)


def model_job(library: Library, choice: str, name: str) -> JobFn:
    """Load the model ``choice`` names (``engine.modelchoice``) and embed every track that lacks its
    embeddings; the library's active model is not changed. Cancelling keeps what was embedded."""

    def run(progress: ProgressFn, cancel: CancelToken) -> ModelSwap:
        progress(BUSY, BUSY, f"Loading model {name}…")
        bundle = load_model_choice(choice)
        cancel.raise_if_cancelled()
        if bundle is None:
            return ModelSwap(choice, None)

        def report(done: int, total: int, path: str) -> None:
            progress(done, total, f"Embedding for {name}: {done}/{total}" + (f" · {Path(path).name}" if path else ""))

        embedded = library.embed(bundle=bundle, progress=report, cancel=cancel)
        if embedded.cancelled:
            raise JobCancelled()
        return ModelSwap(choice, bundle, embedded)

    return run


class TrainingFn(Protocol):
    """The training package's typed entry, :func:`bgmatch.training.api.run_training`."""

    def __call__(self, config: TrainConfig, *, progress: ProgressFn | None = None,
                 on_metrics: Callable[[TrainingMetrics], None] | None = None,
                 cancel: CancelFn | None = None) -> TrainResult: ...


def find_training() -> TrainingFn | None:
    """:func:`bgmatch.training.api.run_training`, or None in a build without the training package."""
    try:
        from bgmatch.training.api import run_training
    except ImportError:
        return None
    return run_training


def training_job(run_training: TrainingFn, config: TrainConfig,
                 on_metrics: Callable[[TrainingMetrics], None]) -> JobFn:
    """Run ``run_training(config, …)`` in a worker: its progress goes to the job, each
    metrics event to ``on_metrics``; the job's cancel stops it (state saved)."""

    def run(progress: ProgressFn, cancel: CancelToken) -> TrainResult:
        return run_training(config, progress=progress, on_metrics=on_metrics, cancel=cancel)

    return run
