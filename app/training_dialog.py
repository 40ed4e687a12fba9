"""Training ▸ Retrain: choose past edits, start training, watch loss and recall live, cancel.

The dialog builds its run with ``bgmatch.training.api.editor_config`` from its fields and starts
it through the training package's typed entry, ``run_training(config, *, progress, on_metrics,
cancel)`` (:class:`~bgmatch.app.jobs.TrainingFn`), in a worker:

- ``progress(done, total, message)``: the steps of the current stage (the bar and the status);
- ``on_metrics(TrainingMetrics)``, called from the training thread: ``stage``, ``step``,
  ``losses`` (``train``, ``validation``), ``recalls`` (validation recall@K), ``message``, ``model_path``;
- ``cancel()``: the job's cancel; the run stops with its state saved;
- returns a ``TrainResult`` (``bundle_dir``: the new model bundle folder, or None; ``cancelled``).

A run that writes a model emits :attr:`TrainingDialog.model_trained` with its folder; the main
window then embeds the library for it and switches to it (Training ▸ Undo Model Change goes back).

Curves are plotted against the step of each stage (pretrain, match), one curve per stage.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QPlainTextEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from bgmatch.engine.errors import BgmatchError

from .jobs import TrainingFn, training_job
from .settings import AppSettings
from .task_indicator import show_progress
from .timeline import COLORS
from .workers import JobRunner

if TYPE_CHECKING:  # the training package (and torch) is imported only when a run starts
    from bgmatch.training.api import TrainConfig, TrainingMetrics, TrainResult

RECALL_COLORS = {1: "#ef5350", 5: "#ffb74d", 10: "#66bb6a", 25: "#42a5f5"}
STAGE_COLORS = {"pretrain": "#9fa8da", "match": COLORS["motion"]}
VALIDATION_COLOR = "#ffb74d"


class _Bridge(QObject):
    """Carries metrics events from the training thread to the GUI thread."""

    event = Signal(object)  # TrainingMetrics


class LivePlot(pg.PlotWidget):
    """A small plot whose named curves grow point by point."""

    def __init__(self, title: str, x_label: str, hint: str, parent: QWidget | None = None, *,
                 y_range: tuple[float, float] | None = None) -> None:
        super().__init__(parent, background=COLORS["background"])
        self.y_range = y_range  # fixed (recall is a share: 0 to 1), else it follows the points
        item = self.getPlotItem()
        item.setTitle(title, color=COLORS["axis"], size="10pt")
        item.setLabel("bottom", x_label, color=COLORS["axis"])
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        item.hideButtons()
        self.legend = item.addLegend(offset=(-10, 10), labelTextColor=COLORS["axis"])
        self.points: dict[str, tuple[list[float], list[float]]] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.empty = pg.TextItem(hint, color=COLORS["axis"], anchor=(0.5, 0.5))
        self.addItem(self.empty)
        self.empty.setPos(0.5, 0.5)
        item.setXRange(0, 1)
        item.setYRange(0, 1)

    def add_point(self, name: str, x: float, y: float, color: str) -> None:
        """Append a point to curve ``name``."""
        if not (math.isfinite(x) and math.isfinite(y)):
            return
        if name not in self.curves:
            self.empty.setVisible(False)
            self.curves[name] = self.plot([], [], name=name, pen=pg.mkPen(color, width=2), symbol="o",
                                          symbolSize=4, symbolBrush=color, symbolPen=None)
            self.points[name] = ([], [])
            self.getPlotItem().enableAutoRange(axis="x")
            if self.y_range is None:
                self.getPlotItem().enableAutoRange(axis="y")
            else:
                self.getPlotItem().setYRange(*self.y_range, padding=0.05)
        xs, ys = self.points[name]
        xs.append(x)
        ys.append(y)
        self.curves[name].setData(xs, ys)

    def clear_points(self) -> None:
        """Remove every curve."""
        for curve in self.curves.values():
            self.removeItem(curve)
        self.legend.clear()
        self.curves.clear()
        self.points.clear()
        self.empty.setVisible(True)


class TrainingDialog(QDialog):
    """Fields of a training run, live plots, Start / Cancel / Close."""

    model_trained = Signal(str)

    def __init__(self, settings: AppSettings, runner: JobRunner, run_training: TrainingFn | None,
                 *, default_output: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Retrain the matching model")
        self.settings = settings
        self.runner = runner
        self.run_training = run_training
        self.job = None
        self.model_path: str | None = None
        self._bridge = _Bridge(self)
        self._bridge.event.connect(self.handle_event)
        self._step = 0

        intro = QLabel("Teach bgmatch your taste from your own past edits: a folder of videos that already "
                       "have the music you chose. Each is split into its picture and its music; the model "
                       "learns to match them. Tags are optional.")
        intro.setWordWrap(True)
        intro.setObjectName("hint")

        self.data_folder = QLineEdit()
        self.data_folder.setPlaceholderText("Folder of videos with their music (required)")
        self.tags_csv = QLineEdit()
        self.tags_csv.setPlaceholderText("Optional CSV: file name, tags…")
        self.output_dir = QLineEdit(str(default_output))
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(20)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 4096)
        self.batch_size.setValue(32)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(1e-5, 1.0)
        self.learning_rate.setSingleStep(1e-4)
        self.learning_rate.setValue(3e-4)
        self.valid_share = QSpinBox()
        self.valid_share.setRange(5, 50)
        self.valid_share.setSuffix(" %")
        self.valid_share.setValue(10)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setToolTip("auto: CUDA when available, else CPU")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(0)

        form = QFormLayout()
        form.addRow("Past edits", self._with_browse(self.data_folder, "folder"))
        form.addRow("Tags", self._with_browse(self.tags_csv, "csv"))
        form.addRow("Save model in", self._with_browse(self.output_dir, "output"))
        numbers = QHBoxLayout()
        for label, box in (("Epochs", self.epochs), ("Batch", self.batch_size), ("Learning rate", self.learning_rate),
                           ("Validation", self.valid_share), ("Device", self.device), ("Seed", self.seed)):
            numbers.addWidget(QLabel(label))
            numbers.addWidget(box)
            numbers.addSpacing(8)
        numbers.addStretch(1)
        form.addRow("Training", numbers)
        fields = QGroupBox("Training run")
        fields.setLayout(form)

        self.loss_plot = LivePlot("Loss", "step", "appears when training starts")
        self.recall_plot = LivePlot("Validation recall", "step", "appears at the first validation", y_range=(0.0, 1.0))
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.recall_plot)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setFixedHeight(90)
        self.log.setPlaceholderText("Messages from the training run appear here.")

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel Run")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(fields)
        layout.addLayout(plots, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.log)
        layout.addLayout(buttons)
        self.resize(980, 720)
        if run_training is None:
            self._set_status("Training is not installed in this build (bgmatch.training.api.run_training "
                             "was not found).", error=True)
            self.start_button.setEnabled(False)

    def _with_browse(self, edit: QLineEdit, kind: str) -> QWidget:
        button = QPushButton("Browse…")
        button.clicked.connect(lambda: self._browse(edit, kind))
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        row.addWidget(button)
        return box

    def _browse(self, edit: QLineEdit, kind: str) -> None:
        start = str(self.settings.last_folder("training"))
        if kind == "csv":
            path, _ = QFileDialog.getOpenFileName(self, "Tags CSV", start, "CSV files (*.csv);;All files (*)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Choose a folder", start)
        if path:
            edit.setText(path)
            self.settings.set_last_folder("training", Path(path) if kind != "csv" else Path(path).parent)

    # -- the run -----------------------------------------------------------------------------
    def config(self) -> TrainConfig:
        """The run's configuration (``editor_config`` of the fields), as passed to ``run_training``;
        ``ConfigError`` for values training does not accept."""
        from bgmatch.training.api import editor_config

        tags = self.tags_csv.text().strip()
        return editor_config(folder=self.data_folder.text().strip(), out_dir=self.output_dir.text().strip(),
                             tags_csv=tags or None, epochs=self.epochs.value(), batch_size=self.batch_size.value(),
                             learning_rate=self.learning_rate.value(),
                             valid_fraction=self.valid_share.value() / 100.0, seed=self.seed.value(),
                             device=self.device.currentText())

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setObjectName("error" if error else "")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def start(self) -> None:
        """Check the fields and start training in a worker thread."""
        if self.run_training is None or self.job is not None:
            return
        folder, tags = self.data_folder.text().strip(), self.tags_csv.text().strip()
        if not folder or not Path(folder).is_dir():
            self._set_status("Choose the folder of your past edits (videos with their music) first.", error=True)
            return
        if tags and not Path(tags).is_file():
            self._set_status(f"{tags}: no such tags file.", error=True)
            return
        try:
            config = self.config()
        except BgmatchError as exc:
            self._set_status(str(exc), error=True)
            return
        self.loss_plot.clear_points()
        self.recall_plot.clear_points()
        self.log.clear()
        self._step = 0
        self.model_path = None
        self.progress.setRange(0, 0)
        self._set_status("Training…")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job = self.runner.start(
            "training", "training", training_job(self.run_training, config, self._bridge.event.emit),
            progress=self._progress, succeeded=self._succeeded, failed=lambda message: self._set_status(message, error=True),
            cancelled=lambda: self._set_status("Training cancelled; the current model is kept."), done=self._done)

    def cancel(self) -> None:
        """Ask the run to stop."""
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self._set_status("Cancelling…")

    @property
    def running(self) -> bool:
        """Whether a run is in progress."""
        return self.job is not None

    def _progress(self, done: int, total: int, message: str) -> None:
        show_progress(self.progress, done, total)
        self.progress.setFormat(f"{message.split(' step ')[0]} %p%" if message else "%p%")
        if message:
            self._set_status(f"Training… {message}")

    def handle_event(self, metrics: TrainingMetrics) -> None:
        """Show one metrics event (GUI thread)."""
        stage = metrics.stage
        prefix = f"{stage} " if stage else ""
        if metrics.message:
            self.log.appendPlainText(f"[{stage}] {metrics.message}" if stage else metrics.message)
        if metrics.step:
            self._step = metrics.step
        train = metrics.losses.get("train")
        if train is not None:
            color = STAGE_COLORS.get(stage, COLORS["motion"])
            self.loss_plot.add_point(f"{prefix}train", self._step, train, color)
        valid = metrics.losses.get("validation")
        if valid is not None:
            self.loss_plot.add_point(f"{prefix}validation", self._step, valid, VALIDATION_COLOR)
        for k, value in sorted(metrics.recalls.items()):
            self.recall_plot.add_point(f"{prefix}R@{k}", self._step, value, RECALL_COLORS.get(k, COLORS["beat"]))
        if metrics.model_path:
            self.model_path = metrics.model_path

    def _succeeded(self, result: TrainResult) -> None:
        if result.cancelled:
            self._set_status("Training stopped; its state is saved — Start again with the same fields to resume.")
            return
        if result.bundle_dir is not None:
            self.model_path = str(result.bundle_dir)
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000)
        if not self.model_path:
            self._set_status("Done, but the run wrote no model.", error=True)
            return
        self._set_status(f"Done. New model: {self.model_path} — the library is embedded for it, then it ranks "
                         "the suggestions (Training ▸ Undo Model Change goes back).")
        self.model_trained.emit(self.model_path)

    def _done(self) -> None:
        self.job = None
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(0)
        self.start_button.setEnabled(self.run_training is not None)
        self.cancel_button.setEnabled(False)

    def closeEvent(self, event: Any) -> None:
        """Closing during a run cancels it."""
        self.cancel()
        super().closeEvent(event)
