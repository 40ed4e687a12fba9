"""The timeline plot (pyqtgraph): video motion and cuts above, track onsets and beats below.

The plot only draws an engine :class:`~bgmatch.engine.preview.overlay.Overlay` and a playhead; clicking
or dragging the playhead asks for a seek.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from bgmatch.engine.session import Overlay, cut_alignment, on_beat

#: Vertical layout of the lanes (plot units).
TRACK_LANE = (0.0, 1.0)
VIDEO_LANE = (1.15, 2.15)
COLORS = {
    "motion": "#4fc3f7",
    "cut_on": "#9ccc65",
    "cut_off": "#ff7043",
    "onset": "#ffb74d",
    "beat": "#9fa8da",
    "playhead": "#ffffff",
    "background": "#1b1c1f",
    "axis": "#9a9ca3",
}


def _pairs(xs: np.ndarray, lane: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Vertical segments at ``xs`` spanning ``lane``, for ``connect="pairs"``."""
    x = np.repeat(np.asarray(xs, np.float64), 2)
    y = np.tile(np.asarray(lane, np.float64), len(xs))
    return x, y


def legend_html() -> str:
    """The colour key shown above the plot."""
    items = [("motion", "video motion"), ("cut_on", "cut on a beat"), ("cut_off", "cut off the beat"),
             ("onset", "music onsets"), ("beat", "beats")]
    return "&nbsp;&nbsp;&nbsp;".join(f"<span style='color:{COLORS[k]}'>■</span> {text}" for k, text in items)


class TimelinePlot(pg.PlotWidget):
    """Motion, cuts, onsets and beats on the video's time axis, with a movable playhead."""

    seek_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=COLORS["background"])
        self.overlay: Overlay | None = None
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

        self.motion = pg.PlotDataItem(pen=pg.mkPen(COLORS["motion"], width=1.5), fillLevel=VIDEO_LANE[0],
                                      brush=pg.mkBrush(79, 195, 247, 60))
        self.onset = pg.PlotDataItem(pen=pg.mkPen(COLORS["onset"], width=1), fillLevel=TRACK_LANE[0],
                                     brush=pg.mkBrush(255, 183, 77, 50))
        self.beats = pg.PlotDataItem(pen=pg.mkPen(COLORS["beat"], width=1, style=Qt.PenStyle.DotLine), connect="pairs")
        self.cuts_on = pg.PlotDataItem(pen=pg.mkPen(COLORS["cut_on"], width=2.5), connect="pairs")
        self.cuts_off = pg.PlotDataItem(pen=pg.mkPen(COLORS["cut_off"], width=2.5), connect="pairs")
        for curve in (self.beats, self.onset, self.motion, self.cuts_off, self.cuts_on):
            self.addItem(curve)
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
        self.set_overlay(None)

    def set_overlay(self, overlay: Overlay | None) -> None:
        """Draw an overlay (None: the empty state)."""
        self.overlay = overlay
        if overlay is None:
            for curve in (self.motion, self.onset, self.beats, self.cuts_on, self.cuts_off):
                curve.setData([], [])
            self.hint.setVisible(True)
            self.hint.setPos(5.0, sum(VIDEO_LANE) / 2 - 0.5)
            self.getPlotItem().setXRange(0, 10, padding=0)
            self.playhead.setVisible(False)
            return
        self.hint.setVisible(False)
        self.playhead.setVisible(True)
        height = VIDEO_LANE[1] - VIDEO_LANE[0]
        self.motion.setData(overlay.motion_times_s, VIDEO_LANE[0] + overlay.motion * height * 0.95)
        self.onset.setData(overlay.onset_times_s, TRACK_LANE[0] + overlay.onset * 0.95)
        self.beats.setData(*_pairs(overlay.beat_times_s, TRACK_LANE))
        mask = on_beat(overlay.cut_times_s, overlay.beat_times_s)
        self.cuts_on.setData(*_pairs(overlay.cut_times_s[mask], VIDEO_LANE))
        self.cuts_off.setData(*_pairs(overlay.cut_times_s[~mask], VIDEO_LANE))
        item = self.getPlotItem()
        item.setLimits(xMin=-0.5, xMax=overlay.duration_s + 0.5)
        item.setXRange(0, overlay.duration_s, padding=0.01)

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
    """The plot with its colour key and a line saying how many cuts land on beats."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = TimelinePlot()
        self.legend = QLabel(legend_html())
        self.legend.setObjectName("hint")
        self.alignment = QLabel()
        self.alignment.setObjectName("alignment")
        top = QHBoxLayout()
        top.addWidget(self.legend, 1)
        top.addWidget(self.alignment)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)

    def set_overlay(self, overlay: Overlay | None) -> None:
        """Draw an overlay and summarise the cut/beat alignment."""
        self.plot.set_overlay(overlay)
        if overlay is None or len(overlay.beat_times_s) == 0:
            cuts = 0 if overlay is None else len(overlay.cut_times_s)
            self.alignment.setText(f"{cuts} cuts" if overlay is not None else "")
            return
        hits, cuts = cut_alignment(overlay.cut_times_s, overlay.beat_times_s)
        self.alignment.setText(f"{hits} of {cuts} cuts on a beat" if cuts else "no cuts found")
