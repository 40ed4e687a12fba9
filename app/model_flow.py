"""Training ▸ Model: which model ranks the suggestions, the bundles to choose from, the status-bar name."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup

from .settings import ANALYSIS_ONLY

if TYPE_CHECKING:
    from .main_window import MainWindow

#: File that marks a model bundle folder (``engine.embed.BUNDLE_MANIFEST``; not imported, as that loads torch).
BUNDLE_MANIFEST = "bundle.json"


def model_name(bundle: Path) -> str:
    """How a model bundle is named in menus: its run folder's name for ``<run>/model``."""
    return bundle.parent.name if bundle.name == "model" else bundle.name


class ModelFlow(QObject):
    """The model choice (kept in the settings) and the menu and label that show it."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window

    def models_folder(self) -> Path:
        """Where trained models of this library live (``<library>/models``)."""
        w = self.window
        return (w.library.folder if w.library is not None else w.settings.library_path) / "models"

    def bundles(self) -> list[Path]:
        """Trained model bundles in the library's models folder (a run's ``model/`` or a bare bundle)."""
        folder = self.models_folder()
        if not folder.is_dir():
            return []
        manifests = [*folder.glob(f"*/{BUNDLE_MANIFEST}"), *folder.glob(f"*/model/{BUNDLE_MANIFEST}")]
        return sorted(m.parent for m in manifests)

    def fill_menu(self) -> None:
        """Training ▸ Model: the analysis score and every trained bundle of this library."""
        menu = self.window.model_menu
        menu.clear()
        group = QActionGroup(menu)
        choices = [(ANALYSIS_ONLY, "Analysis Score (beats, onsets, energy)")]
        choices += [(str(p), model_name(p)) for p in self.bundles()]
        current = self.window.settings.model_choice
        for value, text in choices:
            action = QAction(text, menu, checkable=True)
            action.setChecked(value == current)
            action.triggered.connect(lambda _checked=False, v=value: self.choose(v))
            group.addAction(action)
            menu.addAction(action)
        if len(choices) == 1:
            hint = menu.addAction("No trained models yet (Training ▸ Retrain…)")
            hint.setEnabled(False)

    def choose(self, value: str) -> None:
        """Remember the model choice."""
        self.window.settings.model_choice = value
        self.update_label()

    def update_label(self) -> None:
        """Name the chosen model in the status bar."""
        choice = self.window.settings.model_choice
        name = "analysis score" if choice == ANALYSIS_ONLY else model_name(Path(choice))
        self.window.model_label.setText(f"Model: {name}")
