"""The timeline plot (pyqtgraph): video motion and cuts above; the track's waveform, beats, bars
and sections below, and a fitted track's segments and joins.

The plot only draws what the engine computed — an :class:`~bgmatch.engine.session.Overlay`
(video curves), the track's :class:`~bgmatch.engine.session.TrackMarks` (video seconds) and its
:class:`~bgmatch.engine.library.Waveform` — and a playhead; clicking or dragging the playhead
asks for a seek. The waveform is reduced to one min/max column per pixel of the visible range,
again whenever the view is zoomed or panned.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from bgmatch.engine.library import Waveform
from bgmatch.engine.session import Overlay, TrackMarks, cut_alignment, on_beat

#: Vertical layout of the lanes (plot units).
TRACK_LANE = (0.0, 1.0)
VIDEO_LANE = (1.15, 2.15)
#: The waveform fills this share of the track lane at the track's loudest sample.
WAVEFORM_HEIGHT = 0.9
#: Tags shown in the header.
HEADER_TAGS = 5
COLORS = {
    "motion": "#4fc3f7",
    "cut_on": "#9ccc65",
    "cut_off": "#ff7043",
    "waveform": "#ffb74d",
    "beat": "#9fa8da",
    "bar": "#e8eaf6",
    "section": "#ce93d8",
    "join": "#f06292",
    "segment": "#2c2f36",
    "playhead": "#ffffff",
    "background": "#1b1c1f",
    "axis": "#9a9ca3",
    "tag": "#34373e",
}


def _pairs(xs: np.ndarray, lane: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Vertical segments at ``xs`` spanning ``lane``, for ``connect="pairs"``."""
    x = np.repeat(np.asarray(xs, np.float64), 2)
    y = np.tile(np.asarray(lane, np.float64), len(xs))
    return x, y


def _columns(xs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertical segments from ``lo[k]`` to ``hi[k]`` at ``xs[k]`` (a filled waveform at one column per pixel)."""
    y = np.empty(2 * len(xs), np.float64)
    y[0::2], y[1::2] = lo, hi
    return np.repeat(np.asarray(xs, np.float64), 2), y


def legend_html(marks: TrackMarks | None = None) -> str:
    """The colour key shown above the plot: bars, sections and joins only when ``marks`` have them."""
    items = [("motion", "video motion"), ("cut_on", "cut on a beat"), ("cut_off", "cut off the beat"),
             ("waveform", "music"), ("beat", "beats")]
    if marks is not None:
        items += [(key, text) for key, text, shown in (("bar", "bars", len(marks.bar_times_s)),
                                                       ("section", "sections", len(marks.section_times_s)),
                                                       ("join", "fit joins", marks.fitted)) if shown]
    return "&nbsp;&nbsp;&nbsp;".join(f"<span style='color:{COLORS[k]}'>■</span> {text}" for k, text in items)


def header_html(title: str, tags: Sequence[tuple[str, float]], *, fitted: bool = False) -> str:
    """The chosen track's title and its top tags (name, probability) as chips."""
    chips = "&nbsp;".join(f"<span style='background:{COLORS['tag']}; color:#e0e0e0'>&nbsp;{html.escape(name)}&nbsp;</span>"
                          for name, _p in list(tags)[:HEADER_TAGS])
    fit = " <span style='color:#f06292'>· fitted to the video</span>" if fitted else ""
    return f"<b>{html.escape(title)}</b>{fit}" + (f"&nbsp;&nbsp;{chips}" if chips else "")


class TimelinePlot(pg.PlotWidget):
    """Motion, cuts, the track's waveform, beats, bars, sections (and a fit's segments) on the
    video's time axis, with a movable playhead."""

    seek_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=COLORS["background"])
        self.overlay: Overlay | None = None
        self.marks: TrackMarks | None = None
        self.waveform: Waveform | None = None
        self.waveform_offset_s = 0.0  # track time at the video's first frame (0 for a fitted render)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=True, y=False)
        item.showGrid(x=True, y=False, alpha=0.15)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(COLORS["axis"]))
            axis.setTextPen(pg.mkPen(COLORS["axis"]))
        item.getAxis("left").setTicks([[(sum(TRACK_LANE) / 2, "track"), (sum(VIDEO_LANE) / 2, "video")]])
        item.getAxis("left").setWidth(48)
        item.setLabel("bottom", "video time", units="s", color=COLORS["axis"])
        item.setYRange(TRACK_LANE[0] - 0.05, VIDEO_LANE[1] + 0.05, padding=0)

        self.segments = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], pen=pg.mkPen(None), brush=COLORS["segment"])
        self.crossfades = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], pen=pg.mkPen(None),
                                          brush=pg.mkBrush(240, 98, 146, 90))
        self.motion = pg.PlotDataItem(pen=pg.mkPen(COLORS["motion"], width=1.5), fillLevel=VIDEO_LANE[0],
                                      brush=pg.mkBrush(79, 195, 247, 60))
        self.wave = pg.PlotDataItem(pen=pg.mkPen(COLORS["waveform"], width=1), connect="pairs")
        self.beats = pg.PlotDataItem(pen=pg.mkPen(COLORS["beat"], width=1, style=Qt.PenStyle.DotLine), connect="pairs")
        self.bars = pg.PlotDataItem(pen=pg.mkPen(COLORS["bar"], width=1.5), connect="pairs")
        self.sections = pg.PlotDataItem(pen=pg.mkPen(COLORS["section"], width=3), connect="pairs")
        self.joins = pg.PlotDataItem(pen=pg.mkPen(COLORS["join"], width=2.5), connect="pairs")
        self.cuts_on = pg.PlotDataItem(pen=pg.mkPen(COLORS["cut_on"], width=2.5), connect="pairs")
        self.cuts_off = pg.PlotDataItem(pen=pg.mkPen(COLORS["cut_off"], width=2.5), connect="pairs")
        self._lines = (self.motion, self.wave, self.beats, self.bars, self.sections, self.joins, self.cuts_on,
                       self.cuts_off)
        for curve in (self.segments, self.crossfades, self.beats, self.wave, self.bars, self.sections, self.joins,
                      self.motion, self.cuts_off, self.cuts_on):
            self.addItem(curve)
        self.section_labels: list[pg.TextItem] = []
        self.playhead = pg.InfiniteLine(0.0, angle=90, movable=True, pen=pg.mkPen(COLORS["playhead"], width=2),
                                        hoverPen=pg.mkPen("#ffee58", width=3))
        self.playhead.setZValue(10)
        self.playhead.sigDragged.connect(lambda line: self.seek_requested.emit(max(0.0, float(line.value()))))
        self.addItem(self.playhead)
        self.hint = pg.TextItem("Drop a video to see its motion and cuts here;\n"
                                "pick a suggestion to line them up with the track's beats.",
                                color=COLORS["axis"], anchor=(0.5, 0.5))
        self.addItem(self.hint)
        self.scene().sigMouseClicked.connect(self._clicked)
        item.vb.sigXRangeChanged.connect(lambda *_: self._draw_waveform())  # zoomed or panned
        item.vb.sigResized.connect(lambda *_: self._draw_waveform())  # more or fewer pixel columns
        self.set_overlay(None)

    # -- what is drawn -----------------------------------------------------------------------
    def set_overlay(self, overlay: Overlay | None, marks: TrackMarks | None = None) -> None:
        """Draw the video's curves and, with ``marks``, the track's (None: the empty state).
        The waveform stays until :meth:`set_waveform` changes it."""
        self.overlay, self.marks = overlay, marks if overlay is not None else None
        if overlay is None:
            for curve in self._lines:
                curve.setData([], [])
            self._set_bars(self.segments, [], [])
            self._set_bars(self.crossfades, [], [])
            self._label_sections(np.zeros(0))
            self.hint.setVisible(True)
            self.hint.setPos(5.0, sum(VIDEO_LANE) / 2 - 0.5)
            self.getPlotItem().setXRange(0, 10, padding=0)
            self.playhead.setVisible(False)
            return
        self.hint.setVisible(False)
        self.playhead.setVisible(True)
        height = VIDEO_LANE[1] - VIDEO_LANE[0]
        self.motion.setData(overlay.motion_times_s, VIDEO_LANE[0] + overlay.motion * height * 0.95)
        beats = self.beat_times_s
        mask = on_beat(overlay.cut_times_s, beats)
        self.cuts_on.setData(*_pairs(overlay.cut_times_s[mask], VIDEO_LANE))
        self.cuts_off.setData(*_pairs(overlay.cut_times_s[~mask], VIDEO_LANE))
        self.beats.setData(*_pairs(beats, TRACK_LANE))
        empty = np.zeros(0)
        self.bars.setData(*_pairs(marks.bar_times_s if marks else empty, TRACK_LANE))
        sections = marks.section_times_s if marks else empty
        self.sections.setData(*_pairs(sections, (TRACK_LANE[1] - 0.12, TRACK_LANE[1])))
        self._label_sections(sections)
        segs = marks.segments if marks else ()
        # alternate segments are shaded, so where each piece of the track plays is visible
        self._set_bars(self.segments, [s.start_s for s in segs[1::2]], [s.end_s for s in segs[1::2]])
        self.joins.setData(*_pairs(marks.join_times_s if marks else empty, TRACK_LANE))
        self._set_bars(self.crossfades, [s.start_s - s.crossfade_s / 2 for s in segs[1:]],
                       [s.start_s + s.crossfade_s / 2 for s in segs[1:]])
        item = self.getPlotItem()
        item.setLimits(xMin=-0.5, xMax=overlay.duration_s + 0.5)
        item.setXRange(0, overlay.duration_s, padding=0.01)
        self._draw_waveform()

    @property
    def beat_times_s(self) -> np.ndarray:
        """The beats drawn (video seconds): the marks' when a track is shown."""
        if self.marks is not None:
            return self.marks.beat_times_s
        return self.overlay.beat_times_s if self.overlay is not None else np.zeros(0)

    def set_waveform(self, waveform: Waveform | None, *, offset_s: float = 0.0) -> None:
        """Draw ``waveform`` under the video, its time ``offset_s`` at the video's first frame."""
        self.waveform, self.waveform_offset_s = waveform, offset_s
        self._draw_waveform()

    def waveform_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(video times, lo, hi)`` of the waveform as drawn now: one column per pixel of the
        visible range inside the video, lo/hi scaled to the track lane."""
        empty = np.zeros(0)
        if self.waveform is None or self.overlay is None:
            return empty, empty, empty
        x0, x1 = self.getPlotItem().vb.viewRange()[0]
        x0, x1 = max(0.0, x0), min(self.overlay.duration_s, x1)
        width = max(1, int(self.getPlotItem().vb.width()))
        if x1 <= x0:
            return empty, empty, empty
        full = self.getPlotItem().vb.viewRange()[0]
        bins = max(1, int(round(width * (x1 - x0) / max(full[1] - full[0], 1e-9))))
        times, lo, hi = self.waveform.envelope(start_s=x0 + self.waveform_offset_s, end_s=x1 + self.waveform_offset_s,
                                               bins=bins)
        scale = WAVEFORM_HEIGHT / 2 / (self.waveform.peak or 1.0)
        mid = sum(TRACK_LANE) / 2
        return times - self.waveform_offset_s, mid + lo * scale, mid + hi * scale

    def _draw_waveform(self) -> None:
        self.wave.setData(*_columns(*self.waveform_columns()))

    @staticmethod
    def _set_bars(item: pg.BarGraphItem, x0: Sequence[float], x1: Sequence[float]) -> None:
        n = len(x0)
        item.setOpts(x0=np.asarray(x0, np.float64), x1=np.asarray(x1, np.float64),
                     y0=np.full(n, TRACK_LANE[0]), y1=np.full(n, TRACK_LANE[1]))

    def _label_sections(self, times_s: np.ndarray) -> None:
        for label in self.section_labels:
            self.removeItem(label)
        self.section_labels = []
        for k, t in enumerate(times_s):
            label = pg.TextItem(f"§{k + 1}", color=COLORS["section"], anchor=(0.0, 0.0))
            label.setPos(float(t), TRACK_LANE[1])
            self.addItem(label)
            self.section_labels.append(label)

    # -- playhead ----------------------------------------------------------------------------
    def set_playhead(self, video_s: float) -> None:
        """Move the playhead (unless the user is dragging it)."""
        if not self.playhead.moving:
            self.playhead.setValue(video_s)

    def _clicked(self, event) -> None:
        if self.overlay is None or event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.seek_requested.emit(float(min(max(point.x(), 0.0), self.overlay.duration_s)))


class TimelinePanel(QWidget):
    """The plot with the chosen track's title and top tags, its colour key and a line saying
    how many cuts land on beats."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = TimelinePlot()
        self.header = QLabel()
        self.header.setObjectName("timelineHeader")
        self.legend = QLabel(legend_html())
        self.legend.setObjectName("hint")
        self.alignment = QLabel()
        self.alignment.setObjectName("alignment")
        top = QHBoxLayout()
        top.addWidget(self.header)
        top.addStretch(1)
        top.addWidget(self.legend)
        top.addSpacing(12)
        top.addWidget(self.alignment)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)

    def set_overlay(self, overlay: Overlay | None, marks: TrackMarks | None = None) -> None:
        """Draw an overlay (and the track's marks) and summarise the cut/beat alignment."""
        self.plot.set_overlay(overlay, marks)
        self.legend.setText(legend_html(marks))
        beats = self.plot.beat_times_s
        if overlay is None or len(beats) == 0:
            cuts = 0 if overlay is None else len(overlay.cut_times_s)
            self.alignment.setText(f"{cuts} cuts" if overlay is not None else "")
            return
        hits, cuts = cut_alignment(overlay.cut_times_s, beats)
        self.alignment.setText(f"{hits} of {cuts} cuts on a beat" if cuts else "no cuts found")

    def set_track_header(self, title: str | None, tags: Sequence[tuple[str, float]] = (), *,
                         fitted: bool = False) -> None:
        """Show the chosen track's title and top tags above the plot (None: no track)."""
        self.header.setText("" if title is None else header_html(title, tags, fitted=fitted))
