"""The Export With Track dialog: where to write, the music's loudness, and whether to fit it to the video."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QStyle,
                               QVBoxLayout, QWidget)

from bgmatch.engine.library import ExportConfig

#: Target loudness the dialog offers (LUFS); the engine takes −70…0.
LUFS_RANGE = (-40.0, -5.0)
#: True-peak ceilings the dialog offers (dBTP).
CEILING_RANGE = (-9.0, 0.0)


class ExportDialog(QDialog):
    """Asks for the output file, the loudness (a target or the track's own level, a true-peak
    ceiling) and "Fit the music to the video"; :meth:`config`, :meth:`out_path` and
    :meth:`fit` read the answer. ``browse(current)`` asks for another file (None: kept)."""

    def __init__(self, parent: QWidget | None, *, out_path: Path, config: ExportConfig, fit: bool,
                 fit_note: str, browse: Callable[[Path], Path | None]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export video with track")
        self._base = config
        self._browse = browse
        style = self.style()

        self.path_edit = QLineEdit(str(out_path))
        self.path_edit.setMinimumWidth(420)
        self.path_edit.textChanged.connect(self._update_ok)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
        self.browse_button.setToolTip("Choose the file to write (MP4)")
        self.browse_button.clicked.connect(self._browse_clicked)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(self.browse_button)

        self.normalise = QRadioButton("Normalise to")
        self.normalise.setToolTip("Integrated loudness of the music (ITU-R BS.1770); −14 LUFS suits online video")
        self.keep_level = QRadioButton("Keep the track's level")
        self.keep_level.setToolTip("Write the music as loud as the track is, without normalising")
        self.lufs = QDoubleSpinBox()
        self.lufs.setRange(*LUFS_RANGE)
        self.lufs.setSingleStep(0.5)
        self.lufs.setDecimals(1)
        self.lufs.setSuffix(" LUFS")
        self.ceiling = QDoubleSpinBox()
        self.ceiling.setRange(*CEILING_RANGE)
        self.ceiling.setSingleStep(0.5)
        self.ceiling.setDecimals(1)
        self.ceiling.setSuffix(" dBTP")
        self.ceiling.setToolTip("The music's true peak stays under this (headroom for lossy encoding)")
        self._modes = QButtonGroup(self)
        self._modes.addButton(self.normalise)
        self._modes.addButton(self.keep_level)
        default = ExportConfig()
        normalised = config.target_lufs is not None
        self.lufs.setValue(config.target_lufs if normalised else default.target_lufs)
        self.ceiling.setValue(config.ceiling_dbtp)
        (self.normalise if normalised else self.keep_level).setChecked(True)
        self.normalise.toggled.connect(self._update_loudness)
        target_row = QHBoxLayout()
        target_row.addWidget(self.normalise)
        target_row.addWidget(self.lufs)
        target_row.addStretch(1)
        loudness = QGroupBox("Loudness")
        form = QFormLayout(loudness)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow(target_row)
        form.addRow(self.keep_level)
        form.addRow("True-peak ceiling", self.ceiling)

        self.fit_box = QCheckBox("Fit the music to the video")
        self.fit_box.setToolTip("Re-cut the track at bar lines so it lasts exactly as long as the video and ends "
                                "on its own ending (no fade-out mid-phrase)")
        self.fit_box.setChecked(fit)
        self.fit_note = QLabel(fit_note)
        self.fit_note.setObjectName("hint")
        self.fit_note.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton))
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("File"))
        layout.addLayout(file_row)
        layout.addWidget(loudness)
        layout.addWidget(self.fit_box)
        layout.addWidget(self.fit_note)
        layout.addWidget(self.buttons)
        self._update_loudness()
        self._update_ok()

    # -- the answer --------------------------------------------------------------------------
    def out_path(self) -> Path:
        """The file to write."""
        return Path(self.path_edit.text().strip()).expanduser()

    def config(self) -> ExportConfig:
        """The export settings the dialog was given, with its loudness choice."""
        target = self.lufs.value() if self.normalise.isChecked() else None
        return dataclasses.replace(self._base, target_lufs=target, ceiling_dbtp=self.ceiling.value())

    def fit(self) -> bool:
        """Whether to fit the music to the video."""
        return self.fit_box.isChecked()

    # -- reactions ---------------------------------------------------------------------------
    def _browse_clicked(self) -> None:
        picked = self._browse(self.out_path())
        if picked is not None:
            self.path_edit.setText(str(picked))

    def _update_loudness(self) -> None:
        self.lufs.setEnabled(self.normalise.isChecked())
        self.ceiling.setEnabled(self.normalise.isChecked())

    def _update_ok(self) -> None:
        self.export_button.setEnabled(bool(self.path_edit.text().strip()))
