"""Which model ranks the suggestions: choose, load and embed in a worker, undo, and name it in the status bar.

A model choice is a bundle folder, ``default`` (the shipped model, when there is one and its learned
score counts) or ``none`` (the analysis-only score), as :mod:`bgmatch.engine.learned.modelchoice`
resolves them. A new choice is
loaded and the library embedded for it on the library lane (progress and Cancel in the status
bar); only then does the library rank with it, so cancelling keeps the old model. The models
used before stay loaded for Training ▸ Undo Model Change, which is instant: the store keeps the
embeddings of every model version.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog

from bgmatch.engine.library import BUNDLE_MANIFEST, default_model_path

from . import jobs
from .settings import MODEL_DEFAULT, MODEL_NONE
from .shell import Shell
from .workers import Job


def model_name(bundle: Path) -> str:
    """How a model bundle is named in menus: its run folder's name for ``<run>/model``."""
    return bundle.parent.name if bundle.name == "model" else bundle.name


def choice_name(choice: str) -> str:
    """How a model choice is named to the user."""
    if choice == MODEL_NONE:
        return "analysis score"
    if choice == MODEL_DEFAULT:
        return "default model"
    return model_name(Path(choice))


def _version(bundle: Any) -> str | None:
    return None if bundle is None else bundle.version


class ModelFlow(QObject):
    """The library's active model (:attr:`active_choice`), the job loading the next, the undo history."""

    ranking_changed = Signal()  # the library ranks with another model now (the window re-ranks the video)

    def __init__(self, window: Shell) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the window is a QObject
        self.window = window
        self.active_choice = MODEL_NONE  # what the open library ranks with
        self.undo_stack: list[tuple[str, Any]] = []  # (choice, ModelBundle | None) used before
        self.job: Job | None = None
        self._undoable = False
        window.model_task.cancel_requested.connect(self.cancel)

    # -- where bundles are -------------------------------------------------------------------
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

    # -- choosing ----------------------------------------------------------------------------
    def fill_menu(self) -> None:
        """Training ▸ Model: the analysis score, the shipped model (when installed and its
        learned score counts: ``engine.learned.modelchoice``) and every trained bundle of this library."""
        menu = self.window.model_menu
        menu.clear()
        group = QActionGroup(menu)
        choices = [(MODEL_NONE, "Analysis Score (beats, onsets, energy)")]
        if default_model_path() is not None:
            choices.append((MODEL_DEFAULT, "Default Model (shipped)"))
        choices += [(str(p), model_name(p)) for p in self.bundles()]
        library = self.window.library
        current = self.active_choice if library is not None and library.model is not None else MODEL_NONE
        if current not in dict(choices):
            choices.append((current, choice_name(current)))
        for value, text in choices:
            action = QAction(text, menu, checkable=True)
            action.setChecked(value == current)
            action.triggered.connect(lambda _checked=False, v=value: self.use(v))
            group.addAction(action)
            menu.addAction(action)
        if len(choices) == 1:
            hint = menu.addAction("No trained models yet (Training ▸ Retrain…)")
            hint.setEnabled(False)

    def use_dialog(self) -> None:
        """Training ▸ Use Model…: ask for a bundle folder and switch to it."""
        folder = QFileDialog.getExistingDirectory(self.window, "Choose a model bundle folder", str(self.models_folder()))
        if folder:
            self.use(folder)

    def use_analysis_only(self) -> None:
        """Training ▸ Use Analysis Only."""
        self.use(MODEL_NONE)

    def use(self, choice: str) -> Job | None:
        """Switch to ``choice`` (undoable): at once for the analysis score, else after embedding."""
        return self._change(str(choice), undoable=True)

    def restore(self) -> Job | None:
        """Rank the newly opened library with the saved choice (no undo across libraries)."""
        self.undo_stack.clear()
        self.active_choice = MODEL_NONE
        self._update_actions()
        return self._change(self.window.settings.model_choice, undoable=False)

    def _change(self, choice: str, *, undoable: bool) -> Job | None:
        w = self.window
        if self.job is not None:
            self.job.cancel()  # the newer choice replaces one still loading
            self.job = None
            w.model_task.finish()
        if w.library is None:
            return None
        if choice == MODEL_NONE:
            self._activate(choice, None, undoable=undoable)
            return None
        name = choice_name(choice)
        self._undoable = undoable
        self.job = w.runner.start("library", "model", jobs.model_job(w.library, choice, name),
                                  progress=self._progress, succeeded=self._loaded, failed=self._failed,
                                  cancelled=self._cancelled, done=self._done)
        w.model_task.start(f"Loading the {name}…" if choice == MODEL_DEFAULT else f"Loading model {name}…")
        self._update_actions()
        return self.job

    def cancel(self) -> None:
        """Stop loading or embedding a model; the active one stays."""
        if self.job is not None:
            self.job.cancel()

    def _is_current(self) -> bool:
        return self.job is not None and self.sender() is self.job.signals

    def _progress(self, done: int, total: int, text: str) -> None:
        if self._is_current():
            self.window.model_task.progress(done, total, text)

    def _loaded(self, swap: jobs.ModelSwap) -> None:
        if not self._is_current():
            return
        self._activate(swap.choice, swap.bundle, undoable=self._undoable)
        if swap.report.failed:
            first = swap.report.failed[0][1]
            self.window.set_status(f"Model {choice_name(swap.choice)}: {len(swap.report.failed)} track(s) could "
                                   f"not be embedded (they are ranked without it), e.g. {first}", error=True)

    def _failed(self, message: str) -> None:
        if self._is_current():
            self.window.show_error(f"{message} — still using the {self.describe()}")

    def _cancelled(self) -> None:
        if self._is_current():
            self.window.set_status(f"Model change cancelled; still using the {self.describe()} "
                                   "(the tracks embedded so far are kept).")

    def _done(self) -> None:
        if self._is_current():
            self.job = None
            self.window.model_task.finish()
            self._update_actions()

    # -- the active model --------------------------------------------------------------------
    def _activate(self, choice: str, bundle: Any, *, undoable: bool) -> None:
        w = self.window
        if w.library is None:
            return
        before = w.library.model
        if undoable and (choice, _version(bundle)) != (self.active_choice, _version(before)):
            self.undo_stack.append((self.active_choice, before))
        self._set_active(choice, bundle)
        if bundle is not before:
            w.set_status(f"Suggestions now use the {self.describe()}.")

    def undo(self) -> None:
        """Training ▸ Undo Model Change: back to the model used before (instant)."""
        if not self.undo_stack or self.job is not None or self.window.library is None:
            return
        choice, bundle = self.undo_stack.pop()
        self._set_active(choice, bundle)
        self.window.set_status(f"Model change undone: suggestions use the {self.describe()} again.")

    def _set_active(self, choice: str, bundle: Any) -> None:
        w = self.window
        changed = bundle is not w.library.model
        w.library.set_model(bundle)
        self.active_choice = choice
        w.settings.model_choice = choice
        self.update_label()
        self._update_actions()
        if changed:
            self.ranking_changed.emit()

    def describe(self) -> str:
        """The active model in words ("analysis score", "model latest")."""
        model = self.window.library.model if self.window.library is not None else None
        if model is None:
            return "analysis score"
        return "default model" if self.active_choice == MODEL_DEFAULT else f"model {choice_name(self.active_choice)}"

    def update_label(self) -> None:
        """Name the active model in the status bar."""
        self.window.model_label.setText(f"Model: {self.describe().removeprefix('model ')}")

    def _update_actions(self) -> None:
        action = self.window.undo_model_action
        action.setEnabled(bool(self.undo_stack) and self.job is None)
        back = ""
        if self.undo_stack:
            choice, bundle = self.undo_stack[-1]
            back = f" (back to {choice_name(choice) if bundle is not None else 'analysis score'})"
        action.setText(f"&Undo Model Change{back}")
