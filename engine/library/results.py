"""What the library's door returns: plain dataclasses, no engine internals to unpack."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..analysis.beatgrid import BeatGridCorrection
from ..analysis.motion import VideoAnalysis
from ..analysis.rhythm import MusicAnalysis

if TYPE_CHECKING:  # torch is imported only once a model is used
    from ..learned.embeddings import VideoEmbedding


@dataclass
class AddReport:
    """What :meth:`Library.add` did with each input."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, one-line message)
    cancelled: bool = False


@dataclass
class TagReport:
    """What :meth:`Library.tag` did: track ids tagged, failures (id, one-line message)."""

    tagged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
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
    embedding: "VideoEmbedding | None" = None
    model_version: str = ""


@dataclass(frozen=True)
class TrackInfo:
    """A track as listed to users; ``tempo_bpm`` after the user's beat-grid correction."""

    track_id: str
    path: str
    title: str
    duration_s: float
    tempo_bpm: float
    artist: str | None = None  # from the file's own tags
    album: str | None = None
    genre: str | None = None
    tags: tuple[tuple[str, float], ...] = ()  # top tagger tags (name, probability), best first


@dataclass(frozen=True)
class Suggestion:
    """One ranked track for a video; ``tempo_bpm`` after the user's beat-grid correction."""

    rank: int
    track_id: str
    path: str
    title: str
    score: float
    offset_s: float
    parts: dict[str, float]
    tempo_bpm: float
    duration_s: float
    artist: str | None = None  # from the file's own tags
    tags: tuple[tuple[str, float], ...] = ()  # top tagger tags (name, probability), best first


@dataclass(frozen=True)
class SearchHit:
    """One track ranked by a text query: its ``score`` in [0, 1] and the tags the text matched
    (name, weight)."""

    rank: int
    track: TrackInfo
    score: float
    matched: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class TrackDetails:
    """A track's stored analysis under the user's beat-grid correction (what the preview,
    snapping and ranking use)."""

    track_id: str
    music: MusicAnalysis
    correction: BeatGridCorrection
    beat_times_s: Any = field(repr=False)  # [B] float64, corrected
    downbeat_times_s: tuple[float, ...] = ()  # bar lines, corrected (a subset of beat_times_s)
    section_times_s: tuple[float, ...] = ()  # section starts, corrected (on downbeats)
    phrase_times_s: tuple[float, ...] = ()  # phrase starts (every 4 bars from each section start), corrected

    @property
    def tempo_bpm(self) -> float:
        """Tempo after the correction."""
        return float(self.music.tempo_bpm) * self.correction.tempo_factor

    @property
    def n_beats(self) -> int:
        """Beats as analysed (before the correction)."""
        return len(self.music.beat_times_s)
