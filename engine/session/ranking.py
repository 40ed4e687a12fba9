"""A video's ranking as the app shows it: steered by a text, with each track's plain fit measure.

The decoded video (a :class:`~bgmatch.engine.library.VideoQuery`) is kept by the session, so a
new text or weight re-ranks without analysing the video again (``Library.suggest`` with a query).
The fit measures are ``engine.analysis.fitmeasure``'s (the vocabulary the CLI prints: a 0–100 fit,
"N of M cuts on a beat", the energy match); they depend on the video part of the score only, so a
re-ranking measures only the tracks it has not measured before.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import ConfigError, LibraryError
from ..library import FitMeasure, Library, Suggestion, VideoQuery, measure_fit

#: The text weight the app starts with (the CLI's ``--text-weight`` default).
DEFAULT_TEXT_WEIGHT = 0.5


@dataclass(frozen=True)
class TextSteer:
    """Words about the music and how much they count against the video (``weight`` in [0, 1]:
    0 is the video ranking, 1 the text alone among the video's candidates)."""

    text: str = ""
    weight: float = DEFAULT_TEXT_WEIGHT

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ConfigError(f"the text weight must be between 0 and 1, got {self.weight:g}")

    @property
    def active(self) -> bool:
        """Whether the text steers at all (empty or whitespace text, or weight 0: the video alone)."""
        return bool(self.text.strip()) and self.weight > 0.0


@dataclass(frozen=True)
class Ranking:
    """Suggestions for a video, best first, with the fit measure of each (by track id).

    ``steered``: the text was applied; ``message``: why a text given was not (the engine's own
    words: no tag near it, no tagged track), else empty."""

    suggestions: list[Suggestion]
    fits: dict[str, FitMeasure] = field(default_factory=dict)
    steered: bool = False
    message: str = ""


def fit_measures(library: Library, query: VideoQuery, suggestions: Sequence[Suggestion], *,
                 known: Mapping[str, FitMeasure] | None = None,
                 cancel: Callable[[], bool] | None = None) -> dict[str, FitMeasure]:
    """The :class:`FitMeasure` of each suggestion at its suggested offset (track id → measure), with
    the track's corrected beats; ``known`` measures are reused. A text-steered score is a blend
    of z-scores, so the fit is read from its video part, as ``bgmatch suggest`` does."""
    known = known or {}
    config = library.config.retrieval.sync
    out: dict[str, FitMeasure] = {}
    for s in suggestions:
        if cancel is not None and cancel():
            break
        if s.track_id in known:
            out[s.track_id] = known[s.track_id]
            continue
        out[s.track_id] = measure_fit(library.scoring_analysis(s.track_id), query.analysis, offset_s=s.offset_s,
                                      score=s.parts.get("video", s.score), energy_r=s.parts.get("energy", 0.0),
                                      config=config)
    return out


def rank(library: Library, query: VideoQuery, steer: TextSteer, *, top: int,
         known: Mapping[str, FitMeasure] | None = None,
         cancel: Callable[[], bool] | None = None) -> Ranking:
    """Rank the library for ``query``, steered by ``steer`` when it is active, and measure each
    suggestion's fit. A text the engine refuses (``ConfigError``: it matches no tag; ``LibraryError``:
    no track is tagged) gives the video ranking with the engine's message."""
    message = ""
    suggestions: list[Suggestion] | None = None
    if steer.active:
        try:
            suggestions = library.suggest(query, top=top, text=steer.text.strip(), text_weight=steer.weight)
        except (ConfigError, LibraryError) as exc:
            message = str(exc)
    steered = suggestions is not None
    if suggestions is None:
        suggestions = library.suggest(query, top=top)
    return Ranking(suggestions, fit_measures(library, query, suggestions, known=known, cancel=cancel),
                   steered, message)
