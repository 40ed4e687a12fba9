"""The editing session without Qt: the video, its suggestions, the chosen track, its offset and beat grid.

napari's ``components`` against ``_qt``: this is the model; the app's widgets only subscribe to
:attr:`Session.events` and call its methods. Each value lives here once: the user's offset of
each suggested track (the list, the player and the alignment bar read it from here), the
chosen track's corrected beat grid, the fit plan and the export settings. What changes stored
data goes through the :class:`~bgmatch.engine.library.Library` the session is given.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.beatgrid import BeatGridCorrection, beat_period_s, snap_offset_s, step_beats_s
from ..analysis.fitmeasure import cuts_on_beat
from ..errors import LibraryError
from ..library import (ExportConfig, FitConfig, FitMeasure, FitPlan, Library, MediaInfo, Suggestion, TrackDetails,
                       VideoAnalysis, VideoQuery)
from .events import Event
from .fitpreview import FitRequest
from .ranking import Ranking, TextSteer

#: An offset is kept this far (s) before the track's end, so some music always plays.
END_MARGIN_S = 0.1
#: A fit plan is used for an export when it was made for the export's offset (within 1 ms) and
#: the video's length (within half a 25-fps frame); otherwise the export plans afresh.
PLAN_OFFSET_TOLERANCE_S = 0.001
PLAN_LENGTH_TOLERANCE_S = 0.02


@dataclass(frozen=True)
class LoadedVideo:
    """The video being edited: its file, what probing found and its motion/cut analysis."""

    path: Path
    info: MediaInfo
    analysis: VideoAnalysis


@dataclass(frozen=True)
class Choice:
    """The chosen suggestion, its stored analysis under the beat-grid correction, and whether it
    was chosen by the user (``play``: a view may start playing it) or picked as the best."""

    suggestion: Suggestion
    details: TrackDetails
    play: bool = False


@dataclass(frozen=True)
class ExportRequest:
    """What an export of the session writes: the video with ``track`` from ``offset_s``."""

    video: Path
    track: Path
    offset_s: float
    config: ExportConfig
    fit_plan: FitPlan | None = None  # the session's fit plan (the preview's "Fit to video"), if any
    video_duration_s: float = 0.0
    fit_enabled: bool = False  # the preview's "Fit to video" switch is on (its plan may still be rendering)

    @property
    def fits(self) -> bool:
        """Whether the session asks for the music fitted: the switch is on or a plan was made."""
        return self.fit_enabled or self.fit_plan is not None

    def fit(self, *, enabled: bool) -> FitPlan | FitConfig | None:
        """The ``fit`` argument of the engine's export: None when ``enabled`` is False; the
        session's plan when it was made for this offset and the video's length; else a
        :class:`FitConfig` (the export plans the fit itself)."""
        if not enabled:
            return None
        plan = self.fit_plan
        if (plan is not None and abs(plan.offset_s - self.offset_s) <= PLAN_OFFSET_TOLERANCE_S
                and abs(plan.target_duration_s - self.video_duration_s) <= PLAN_LENGTH_TOLERANCE_S):
            return plan
        return FitConfig()


@dataclass
class SessionEvents:
    """One event per part of the session; each carries the part's new value."""

    library: Event[Library | None] = field(default_factory=lambda: Event("library"))
    video: Event[LoadedVideo | None] = field(default_factory=lambda: Event("video"))
    suggestions: Event[list[Suggestion]] = field(default_factory=lambda: Event("suggestions"))
    chosen: Event[Choice | None] = field(default_factory=lambda: Event("chosen"))
    offset: Event[float] = field(default_factory=lambda: Event("offset"))
    beat_grid: Event[TrackDetails] = field(default_factory=lambda: Event("beat_grid"))
    fit_plan: Event[FitPlan | None] = field(default_factory=lambda: Event("fit_plan"))
    fit_enabled: Event[bool] = field(default_factory=lambda: Event("fit_enabled"))
    export_config: Event[ExportConfig] = field(default_factory=lambda: Event("export_config"))
    steer: Event[TextSteer] = field(default_factory=lambda: Event("steer"))
    tag_filter: Event[str | None] = field(default_factory=lambda: Event("tag_filter"))


class Session:
    """One editing session on a library (None until one is open)."""

    def __init__(self, library: Library | None = None) -> None:
        self.events = SessionEvents()
        self._library = library
        self._video: LoadedVideo | None = None
        self._suggestions: list[Suggestion] = []
        self._choice: Choice | None = None
        self._offsets: dict[str, float] = {}  # track id → the user's offset, for this video's suggestions
        self._tempi: dict[str, float] = {}  # track id → tempo after a correction made since they were ranked
        self._fit_plan: FitPlan | None = None
        self._fit_audio: Path | None = None  # the plan rendered, for the preview to play from 0
        self._fit_enabled = False  # the preview's "Fit to video" switch
        self._export_config = ExportConfig()
        self._query: VideoQuery | None = None  # the decoded video, kept to re-rank it for another text
        self._steer = TextSteer()
        self._fits: dict[str, FitMeasure] = {}  # track id → fit at the suggested offset
        self._user_fits: dict[str, FitMeasure] = {}  # track id → cuts on a beat at the user's offset and grid
        self._tag_filter: str | None = None

    # -- reading -----------------------------------------------------------------------------
    @property
    def library(self) -> Library | None:
        """The open library."""
        return self._library

    @property
    def video(self) -> LoadedVideo | None:
        """The video being edited."""
        return self._video

    @property
    def video_path(self) -> Path | None:
        """The video's file."""
        return self._video.path if self._video is not None else None

    @property
    def suggestions(self) -> list[Suggestion]:
        """The ranked tracks for the video, best first."""
        return list(self._suggestions)

    @property
    def choice(self) -> Choice | None:
        """The chosen suggestion with its details."""
        return self._choice

    @property
    def chosen(self) -> Suggestion | None:
        """The chosen suggestion."""
        return self._choice.suggestion if self._choice is not None else None

    @property
    def details(self) -> TrackDetails | None:
        """The chosen track's analysis under its beat-grid correction."""
        return self._choice.details if self._choice is not None else None

    @property
    def offset_s(self) -> float:
        """Where in the chosen track the video starts (s); 0 with no track."""
        return self.offset_of(self._choice.suggestion) if self._choice is not None else 0.0

    def offset_of(self, suggestion: Suggestion) -> float:
        """The user's offset of a suggested track (s), else the suggested one."""
        return self._offsets.get(suggestion.track_id, suggestion.offset_s)

    def tempo_of(self, suggestion: Suggestion) -> float:
        """A suggested track's tempo (BPM) after the user's beat-grid correction."""
        return self._tempi.get(suggestion.track_id, suggestion.tempo_bpm)

    @property
    def query(self) -> VideoQuery | None:
        """The decoded video the suggestions were ranked for (re-ranked without decoding it again)."""
        return self._query

    @property
    def steer(self) -> TextSteer:
        """The words the user steers the suggestions by, and their weight (inactive: the video alone;
        a text the engine refused left the video ranking, ``Ranking.message`` said why)."""
        return self._steer

    @property
    def fits(self) -> dict[str, FitMeasure]:
        """The fit measure of each suggested track at its suggested offset (track id → measure)."""
        return dict(self._fits)

    def fit_of(self, suggestion: Suggestion) -> FitMeasure | None:
        """A suggestion's fit measure; its cuts on a beat at the user's offset and beat grid when the
        user moved either (the 0–100 fit stays the ranking's). None when it was not measured."""
        return self._user_fits.get(suggestion.track_id, self._fits.get(suggestion.track_id))

    @property
    def tag_filter(self) -> str | None:
        """The tag every listed track must carry (None: no filter)."""
        return self._tag_filter

    @property
    def fit_plan(self) -> FitPlan | None:
        """The chosen track's fit-to-length plan (``engine.output.fit``), when one was made;
        cleared when the video or the chosen track changes."""
        return self._fit_plan

    @property
    def fit_audio_path(self) -> Path | None:
        """The fit plan rendered to a file (what the preview plays from 0), when there is one."""
        return self._fit_audio if self._fit_plan is not None else None

    @property
    def fit_enabled(self) -> bool:
        """Whether the user asked for the chosen track fitted to the video's length."""
        return self._fit_enabled

    def fit_request(self) -> FitRequest | None:
        """What fitting the chosen track to the video at the current offset depends on (None:
        no video or no chosen track)."""
        if self._video is None or self._choice is None:
            return None
        details = self._choice.details
        return FitRequest(Path(self._choice.suggestion.path), self.offset_s, float(self._video.info.duration_s),
                          tuple(float(b) for b in details.beat_times_s),
                          tuple(float(b) for b in details.downbeat_times_s))

    @property
    def export_config(self) -> ExportConfig:
        """How an export is encoded."""
        return self._export_config

    def export_request(self) -> ExportRequest | None:
        """What an export would write now (None: no video or no chosen track)."""
        if self._video is None or self._choice is None:
            return None
        return ExportRequest(self._video.path, Path(self._choice.suggestion.path), self.offset_s, self._export_config,
                             self._fit_plan, self._video.info.duration_s, self._fit_enabled)

    # -- the library and the video -----------------------------------------------------------
    def set_library(self, library: Library | None) -> None:
        """Work on ``library`` from now on (the video and its suggestions stay)."""
        if library is not self._library:
            self._library = library
            self.events.library.emit(library)

    def set_video(self, video: LoadedVideo | None, suggestions: list[Suggestion], *, query: VideoQuery | None = None,
                  fits: dict[str, FitMeasure] | None = None, steer: TextSteer | None = None) -> None:
        """A newly analysed video and its ranking: the best track is chosen (not to be played) and
        the user's earlier offsets are forgotten. ``query`` (the decoded video) lets
        :meth:`set_ranking` re-rank it; ``fits`` are the tracks' fit measures, ``steer`` the text it was
        ranked under (default: the current one). ``BgmatchError``
        (nothing changed) when the best track cannot be read from the library."""
        ranked = list(suggestions)
        best = self._choice_of(ranked[0], play=False) if ranked else None
        self._video, self._suggestions, self._choice = video, ranked, best
        self._offsets, self._tempi = {}, {}
        self._drop_fit()
        self._query, self._fits, self._user_fits = query, dict(fits or {}), {}
        if steer is not None and steer != self._steer:
            self._steer = steer
            self.events.steer.emit(steer)
        self.events.video.emit(video)
        self.events.suggestions.emit(self.suggestions)
        self.events.chosen.emit(best)

    def set_ranking(self, ranking: Ranking, steer: TextSteer) -> None:
        """The same video ranked again under ``steer`` (a new text or weight): the list is replaced,
        the user's offsets and corrections stay, and so does the chosen track while it is listed
        (else the best one is chosen, not to be played)."""
        ranked = list(ranking.suggestions)
        chosen = self.chosen
        kept = next((s for s in ranked if chosen is not None and s.track_id == chosen.track_id), None)
        changed = kept is None and (chosen is not None or bool(ranked))
        if changed:
            best = self._choice_of(ranked[0], play=False) if ranked else None  # may raise: nothing changed yet
            self._choice = best
            self._drop_fit()  # after the choice changed: a view falls back to the new track
        elif self._choice is not None and kept is not None:
            self._choice = dataclasses.replace(self._choice, suggestion=kept)  # its new rank; the same track
        self._steer, self._suggestions = steer, ranked
        self._fits = {**self._fits, **ranking.fits}
        self.events.steer.emit(steer)
        self.events.suggestions.emit(self.suggestions)
        if changed:
            self.events.chosen.emit(self._choice)

    def set_tag_filter(self, tag: str | None) -> None:
        """List only the tracks carrying ``tag`` (None: every track)."""
        tag = tag or None
        if tag != self._tag_filter:
            self._tag_filter = tag
            self.events.tag_filter.emit(tag)

    def _refit_chosen(self) -> None:
        """Count the chosen track's cuts on a beat again at the user's offset and beat grid."""
        if self._choice is None or self._video is None:
            return
        track_id = self._choice.suggestion.track_id
        base = self._fits.get(track_id)
        if base is None:
            return
        on, total = cuts_on_beat(self._video.analysis.cut_times_s, self._choice.details.beat_times_s,
                                 offset_s=self.offset_s)
        self._user_fits[track_id] = dataclasses.replace(base, cuts_on_beat=on, cuts_total=total)

    # -- the chosen track --------------------------------------------------------------------
    def _require_library(self) -> Library:
        if self._library is None:
            raise LibraryError("no library is open")
        return self._library

    def _choice_of(self, suggestion: Suggestion, *, play: bool) -> Choice:
        return Choice(suggestion, self._require_library().track_details(suggestion.track_id), play)

    def choose(self, suggestion: Suggestion | None, *, play: bool = True) -> None:
        """Choose ``suggestion`` (None: no track) at its offset; ``play`` says the user asked for
        it (views start playing it). Choosing the chosen track again changes nothing."""
        if suggestion is None:
            if self._choice is not None:
                self._choice = None
                self._drop_fit()
                self.events.chosen.emit(None)
            return
        if self._choice is not None and self._choice.suggestion.track_id == suggestion.track_id:
            return  # the row moved (sorting, filtering), the choice did not
        self._choice = self._choice_of(suggestion, play=play)
        self._drop_fit()  # after the choice changed: a view falls back to the new track
        self.events.chosen.emit(self._choice)

    # -- offset ------------------------------------------------------------------------------
    def set_offset(self, offset_s: float) -> None:
        """Start the chosen track at ``offset_s`` (clamped to the track, rounded to the ms)."""
        if self._choice is None:
            return
        limit = max(0.0, self._choice.details.music.duration_s - END_MARGIN_S)
        value = round(min(max(0.0, float(offset_s)), limit), 3)
        self._offsets[self._choice.suggestion.track_id] = value
        self._refit_chosen()
        if self._fit_plan is not None and abs(self._fit_plan.offset_s - value) > 1e-6:
            self._drop_fit()  # planned for another offset: never play a stale fit
        self.events.offset.emit(value)

    def nudge_seconds(self, delta_s: float) -> None:
        """Move the chosen track's start by ``delta_s``."""
        self.set_offset(self.offset_s + delta_s)

    def nudge_beats(self, beats: int) -> None:
        """Move the chosen track's start to the ``beats``-th (corrected) beat from here."""
        if self._choice is not None:
            self.set_offset(step_beats_s(self.offset_s, self._choice.details.beat_times_s, beats))

    def snap_to_beat(self) -> None:
        """Snap the chosen track's start to the nearest (corrected) beat."""
        if self._choice is not None:
            self.set_offset(snap_offset_s(self.offset_s, self._choice.details.beat_times_s))

    # -- beat grid ---------------------------------------------------------------------------
    def halve_tempo(self) -> None:
        """The beat tracker found double the tempo: keep every other beat."""
        self._correct(lambda c: c.halved())

    def double_tempo(self) -> None:
        """The beat tracker found half the tempo: add a beat between each pair."""
        self._correct(lambda c: c.doubled())

    def shift_grid(self, delta_s: float) -> None:
        """Move the beat grid by ``delta_s``."""
        self._correct(lambda c: c.shifted(delta_s))

    def shift_half_beat(self) -> None:
        """Move the beat grid onto the off-beat (half the corrected beat period)."""
        if self._choice is not None:
            half = beat_period_s(self._choice.details.beat_times_s) / 2
            self._correct(lambda c: c.shifted(half))

    def reset_grid(self) -> None:
        """Forget the chosen track's correction."""
        self._correct(lambda c: BeatGridCorrection())

    def _correct(self, change: Callable[[BeatGridCorrection], BeatGridCorrection]) -> None:
        """Apply a beat-grid change to the chosen track and keep it in the library
        (``BgmatchError``, nothing changed, when the library cannot store it)."""
        if self._choice is None:
            return
        library, track_id = self._require_library(), self._choice.suggestion.track_id
        correction = change(self._choice.details.correction)
        library.set_beat_correction(track_id, correction)
        details = library.track_details(track_id, correction)
        self._choice = dataclasses.replace(self._choice, details=details)
        self._tempi[track_id] = details.tempo_bpm
        self._refit_chosen()
        self._drop_fit()  # its joins were on the old grid
        self.events.beat_grid.emit(details)

    # -- fit plan and export -----------------------------------------------------------------
    def set_fit_plan(self, plan: FitPlan | None, *, audio_path: Path | None = None) -> None:
        """Keep the chosen track's fit-to-length plan (None: play the track as it is) and, when
        it was rendered, the file the preview plays."""
        self._fit_plan = plan
        self._fit_audio = audio_path if plan is not None else None
        self.events.fit_plan.emit(plan)

    def set_fit_enabled(self, enabled: bool) -> None:
        """The "Fit to video" switch; turning it off forgets the plan (the track plays as it is)."""
        if enabled == self._fit_enabled:
            return
        self._fit_enabled = enabled
        if not enabled:
            self._drop_fit()
        self.events.fit_enabled.emit(enabled)

    def _drop_fit(self) -> None:
        """Forget the fit plan (it no longer matches the video, the track, its offset or grid)."""
        if self._fit_plan is not None:
            self.set_fit_plan(None)

    def set_export_config(self, config: ExportConfig) -> None:
        """Encode exports with ``config`` from now on."""
        self._export_config = config
        self.events.export_config.emit(config)
