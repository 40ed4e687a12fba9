"""The details pane: everything known of the selected suggestion, the raw numbers included.

The list shows an editor's view (title, artist, fit, tags, length); the exact offset (to the
millisecond), the other offsets that fit as well, the score and its parts (z-scores, as
``bgmatch suggest --json`` gives them), the tag probabilities and the file are here.
"""
from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

from bgmatch.engine.library import FitMeasure, Suggestion

from . import formatting
from .tag_chips import tags_tooltip

#: What each part of the score measures (the keys are those of ``--json``'s ``parts``).
PART_NAMES = {
    "beat": "cuts on beats", "onset": "onsets at cuts", "energy": "motion follows loudness",
    "bar": "cuts on bar lines", "phrase": "cuts on phrase and section starts", "hit": "cuts on audible hits",
    "learned": "trained model (z)", "video": "video score before the text", "text": "text match",
}
NO_SELECTION = "Select a suggestion to see its details: the exact offset, the score's parts, its tags and file."


def cuts_text(fit: FitMeasure) -> str:
    """``12 of 15 cuts on a beat`` (the CLI's words)."""
    return f"{fit.cuts_on_beat} of {fit.cuts_total} cuts on a beat"


def details_html(s: Suggestion, fit: FitMeasure | None, *, offset_s: float, tempo_bpm: float) -> str:
    """The pane's text for suggestion ``s`` at the user's ``offset_s`` and corrected ``tempo_bpm``."""
    e = html.escape
    lines = [f"<b>{e(s.title)}</b>" + (f" <span style='color:#9a9ca3'>— {e(s.artist)}</span>" if s.artist else "")
             + f" <span style='color:#9a9ca3'>· rank {s.rank}</span>"]
    if fit is not None:
        lines.append(f"Fit <b>{fit.fit}</b> · {cuts_text(fit)} · energy match {fit.energy}")
    start = f"Starts at <b>{formatting.offset_clock(offset_s)}</b> in the track"
    if abs(offset_s - s.offset_s) >= 5e-4:
        start += f" (suggested {formatting.offset_clock(s.offset_s)})"
    lines.append(f"{start} · {formatting.bpm(tempo_bpm)} BPM · {formatting.clock(s.duration_s)} long")
    if fit is not None and fit.rival_offsets_s:
        rivals = ", ".join(formatting.offset_clock(t) for t in fit.rival_offsets_s[:3])
        lines.append(f"The cuts land on its beats about as well from {rivals}"
                     + (", …" if len(fit.rival_offsets_s) > 3 else ""))
    parts = " · ".join(f"<span title='{e(PART_NAMES.get(k, k))}'>{e(k)} {v:+.3f}</span>"
                       for k, v in s.parts.items())
    lines.append(f"Score {s.score:+.3f} = {parts}" if parts else f"Score {s.score:+.3f}")
    if s.tags:
        lines.append(f"Tags: {e(tags_tooltip(s.tags))}")
    lines.append(f"<span style='color:#9a9ca3'>{e(s.path)}</span>")
    return "<br>".join(lines)


class DetailsPane(QLabel):
    """A read-only pane (selectable text) describing one suggestion."""

    def __init__(self) -> None:
        super().__init__(NO_SELECTION)
        self.setObjectName("details")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.setContentsMargins(6, 6, 6, 6)

    def show_suggestion(self, s: Suggestion | None, fit: FitMeasure | None = None, *, offset_s: float = 0.0,
                        tempo_bpm: float = math.nan) -> None:
        """Describe ``s`` (None: the hint to select one)."""
        self.setText(NO_SELECTION if s is None else details_html(s, fit, offset_s=offset_s, tempo_bpm=tempo_bpm))
