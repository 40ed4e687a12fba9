"""Training ▸ Retrain: the dialog on the installed training package, or why there is none."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from . import jobs
from .training_dialog import TrainingDialog

if TYPE_CHECKING:
    from .main_window import MainWindow


class TrainingFlow(QObject):
    """Keeps the one Retrain dialog; a model it trains replaces the active one (through the model flow)."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.dialog: TrainingDialog | None = None

    def open(self) -> None:
        """Training ▸ Retrain: the dialog, or a message when training is not installed."""
        run_training = jobs.find_training()
        if run_training is None:
            self.window.show_message(
                "Training", "Training is not installed in this build: the training package "
                "(bgmatch.training.cli.run_training) was not found.\n\nSuggestions use the "
                "analysis score (beats, onsets, energy), which needs no training.")
            return
        self.show_dialog(run_training)

    def show_dialog(self, run_training: jobs.TrainingFn | None) -> TrainingDialog:
        """Open the Retrain dialog with the given training function."""
        w = self.window
        if self.dialog is None:
            folder = w.model_flow.models_folder() / "latest"
            self.dialog = TrainingDialog(w.settings, w.runner, run_training, default_output=folder, parent=w)
            self.dialog.model_trained.connect(w.model_flow.use)
        self.dialog.run_training = run_training
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def close(self) -> None:
        """Close the dialog (cancelling its run)."""
        if self.dialog is not None:
            self.dialog.close()
