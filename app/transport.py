"""Transport (play/pause, seek, music volume, "Fit to video") and alignment controls (offset nudges,
snap, beat-grid correction).

The alignment bar shows the menus' own actions as buttons (:func:`bgmatch.app.menus.alignment_actions`).
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractSlider, QCheckBox, QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from . import formatting


class TransportBar(QWidget):
    """Play/pause, clock, seek slider, the music's volume and the "Fit to video" switch; emits
    what the user asks for."""

    play_toggled = Signal()
    seek_requested = Signal(float)
    volume_changed = Signal(float)  # 0–1
    fit_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.play_button = QToolButton()
        self.play_button.setObjectName("playButton")
        self.play_button.setToolTip("Play / pause (Space, K to pause, L to play, J to jump back)")
        self.play_button.clicked.connect(self.play_toggled)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setObjectName("clock")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Seek (← → one second, Shift for five)")
        self.slider.setPageStep(5000)
        self.slider.actionTriggered.connect(self._slider_action)
        self.rate_label = QLabel()
        self.rate_label.setObjectName("hint")
        self.fit_switch = QCheckBox("Fit to video")
        self.fit_switch.setObjectName("fitSwitch")
        self.fit_switch.setToolTip("Play the track re-cut at bar lines to the video's length, from the offset, "
                                   "ending on its own ending (what Export writes when on)")
        self.fit_switch.toggled.connect(self.fit_toggled)
        self.fit_status = QLabel()
        self.fit_status.setObjectName("hint")
        volume_icon = QLabel()
        volume_icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaVolume).pixmap(16, 16))
        volume_icon.setToolTip("Music volume")
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setObjectName("volume")
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setFixedWidth(56)
        self.volume_slider.setToolTip("Music volume (the video plays muted)")
        self.volume_slider.valueChanged.connect(lambda v: self.volume_changed.emit(v / 100.0))
        self._duration_s = 0.0
        self.set_playing(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.play_button)
        row.addWidget(self.time_label)
        row.addWidget(self.slider, 1)
        row.addWidget(self.rate_label)
        row.addWidget(self.fit_switch)
        row.addWidget(self.fit_status)
        row.addWidget(volume_icon)
        row.addWidget(self.volume_slider)
        self.set_video_loaded(False)
        self.set_fit_available(False)
        self.set_fit_status("")
        self.set_rate(1.0)  # the narrow pane must keep room for the video (no empty labels)

    def _slider_action(self, action: int) -> None:
        """Dragging, clicking beside the handle or keys on the slider: seek to where it goes."""
        if action != QAbstractSlider.SliderAction.SliderNoAction.value:
            self.seek_requested.emit(self.slider.sliderPosition() / 1000.0)

    def set_video_loaded(self, loaded: bool) -> None:
        """Enable the transport once a video is loaded."""
        self.play_button.setEnabled(loaded)
        self.slider.setEnabled(loaded)

    def set_playing(self, playing: bool) -> None:
        """Show the play or pause icon."""
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def set_duration(self, duration_s: float) -> None:
        """The video's length."""
        self._duration_s = duration_s
        self.slider.setRange(0, int(duration_s * 1000))

    def set_position(self, position_s: float) -> None:
        """The playhead."""
        if not self.slider.isSliderDown():
            self.slider.setValue(int(position_s * 1000))
        self.time_label.setText(f"{formatting.clock(position_s)} / {formatting.clock(self._duration_s)}")

    def set_volume(self, volume: float) -> None:
        """Show the music volume (0–1) without announcing a change."""
        self.volume_slider.blockSignals(True)
        self.volume_slider.setValue(int(round(min(1.0, max(0.0, volume)) * 100)))
        self.volume_slider.blockSignals(False)

    def set_fit_available(self, available: bool) -> None:
        """The switch needs a video and a chosen track."""
        self.fit_switch.setEnabled(available)

    def set_fit_checked(self, checked: bool) -> None:
        """Show the switch's state without announcing a change."""
        self.fit_switch.blockSignals(True)
        self.fit_switch.setChecked(checked)
        self.fit_switch.blockSignals(False)

    def set_fit_status(self, text: str) -> None:
        """A short word on the fit (rendering, its length, why it failed)."""
        self.fit_status.setText(text)
        self.fit_status.setVisible(bool(text))  # an empty label would still take room

    def set_rate(self, rate: float) -> None:
        """Show the playback speed when it is not 1×."""
        self.rate_label.setText("" if rate == 1.0 else f"{rate:g}×")
        self.rate_label.setVisible(rate != 1.0)


class AlignmentBar(QWidget):
    """Offset and beat-grid of the chosen track: labels, and a button for each command it is given."""

    def __init__(self, nudges: Sequence[QAction], grid: Sequence[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.offset_label = QLabel("Offset –")
        self.offset_label.setObjectName("offset")
        self.offset_label.setToolTip("Where in the track the video's first frame falls")
        self.tempo_label = QLabel("– BPM")
        self.tempo_label.setObjectName("offset")
        self.tempo_label.setToolTip("The track's tempo after your beat-grid correction (saved in the library)")
        self.alignment_buttons: list[QToolButton] = []
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addWidget(self.offset_label)
        self._add_buttons(nudges)
        self._row.addSpacing(16)
        self._row.addWidget(QLabel("Beat grid"))
        self._row.addWidget(self.tempo_label)
        self._add_buttons(grid)
        self._row.addStretch(1)
        self.set_track_controls_enabled(False)

    def _add_buttons(self, actions: Sequence[QAction]) -> None:
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self._row.addWidget(button)
            self.alignment_buttons.append(button)

    def set_track_controls_enabled(self, enabled: bool) -> None:
        """Offset and grid commands need a chosen track (their menu entries follow)."""
        for b in self.alignment_buttons:
            b.defaultAction().setEnabled(enabled)
        if not enabled:
            self.offset_label.setText("Offset –")
            self.tempo_label.setText("– BPM")

    def set_offset(self, offset_s: float, suggested_s: float | None = None) -> None:
        """Show the track offset (and the suggestion when the user moved away from it)."""
        text = f"Offset {formatting.offset_clock(offset_s)}"
        if suggested_s is not None and abs(suggested_s - offset_s) > 1e-3:
            text += f" (suggested {formatting.offset_clock(suggested_s)})"
        self.offset_label.setText(text)

    def set_tempo(self, tempo_bpm: float, corrected: bool) -> None:
        """Show the (corrected) tempo."""
        self.tempo_label.setText(f"{formatting.bpm(tempo_bpm)} BPM" + (" ✎" if corrected else ""))
