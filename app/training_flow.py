"""Training ▸ Retrain: the dialog on the installed training package, or why there is none."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from . import jobs
from .shell import Shell
from .training_dialog import TrainingDialog


class TrainingFlow(QObject):
    """Keeps the one Retrain dialog; a model it trains is announced by :attr:`model_trained`
    (the window hands it to the model flow, which embeds the library for it and switches)."""

    model_trained = Signal(str)  # the new model bundle's folder

    def __init__(self, window: Shell, *, models_folder: Callable[[], Path]) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the window is a QObject
        self.window = window
        self.models_folder = models_folder
        self.dialog: TrainingDialog | None = None

    def open(self) -> None:
        """Training ▸ Retrain: the dialog, or a message when training is not installed."""
        run_training = jobs.find_training()
        if run_training is None:
            self.window.show_message(
                "Training", "Training is not installed in this build: the training package "
                "(bgmatch.training) was not found.\n\nSuggestions use the "
                "analysis score (beats, onsets, energy), which needs no training.")
            return
        self.show_dialog(run_training)

    def show_dialog(self, run_training: jobs.TrainingFn | None) -> TrainingDialog:
        """Open the Retrain dialog with the given training function."""
        w = self.window
        if self.dialog is None:
            folder = self.models_folder() / "latest"
            self.dialog = TrainingDialog(w.settings, w.runner, run_training, default_output=folder,
                                         parent=w)  # type: ignore[arg-type]  # the window is a QWidget
            self.dialog.model_trained.connect(self.model_trained)
        self.dialog.run_training = run_training
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def close(self) -> None:
        """Close the dialog (cancelling its run)."""
        if self.dialog is not None:
            self.dialog.close()
