"""The main window's commands: one QAction each, shared by the menus and the alignment bar's buttons."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

from bgmatch.engine.errors import BgmatchError

from .export_flow import ExportFlow
from .library_flow import LibraryFlow
from .model_flow import ModelFlow
from .preview_flow import PreviewFlow
from .shell import Shell
from .suggest_flow import SuggestFlow
from .training_flow import TrainingFlow

#: J jumps back this far (s).
JUMP_BACK_S = 2.0


class MenuHost(Shell, Protocol):
    """The main window as its menus see it: the shell and its flows."""

    suggest_flow: SuggestFlow
    preview_flow: PreviewFlow
    export_flow: ExportFlow
    library_flow: LibraryFlow
    model_flow: ModelFlow
    training_flow: TrainingFlow
    open_action: QAction
    add_folder_action: QAction
    export_timeline_action: QAction

    def menuBar(self) -> QMenuBar: ...

    def close(self) -> bool: ...

    def show_shortcuts(self) -> None: ...


def keys_text(action: QAction) -> str:
    """The action's shortcuts as the platform writes them ("Ctrl+O, F1")."""
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())


def make_action(window: QObject, text: str, slot: Callable[[], object], shortcuts: tuple[str, ...] = (),
                tip: str = "", *, button_text: str = "") -> QAction:
    """A command: menu ``text``, ``button_text`` on a tool button, and a tooltip naming its shortcuts."""
    action = QAction(text, window)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    if button_text:
        action.setIconText(button_text)
    if tip:
        action.setStatusTip(tip)
        keys = keys_text(action)
        action.setToolTip(f"{tip} ({keys})" if keys else tip)
    action.triggered.connect(slot)
    return action


def add_action(window: QObject, menu: QMenu, text: str, slot: Callable[[], object],
               shortcuts: tuple[str, ...] = (), tip: str = "") -> QAction:
    """Add a command to ``menu``."""
    action = make_action(window, text, slot, shortcuts, tip)
    menu.addAction(action)
    return action


@dataclass(frozen=True)
class AlignmentActions:
    """The chosen track's offset and beat-grid commands (menu entries and alignment-bar buttons)."""

    earlier_beat: QAction
    later_beat: QAction
    earlier_tenth: QAction
    later_tenth: QAction
    snap: QAction
    grid: tuple[QAction, ...]

    @property
    def nudges(self) -> tuple[QAction, ...]:
        """Offset commands in the order of the bar's buttons."""
        return self.earlier_beat, self.earlier_tenth, self.later_tenth, self.later_beat, self.snap


def alignment_actions(w: Shell) -> AlignmentActions:
    """Offset nudges, snap and beat-grid corrections of the session's chosen track.

    Made before the flows (the alignment bar is built with them); each calls the session, and a
    correction the library cannot store is reported in one line.
    """
    session = w.session
    parent: QObject = w  # type: ignore[assignment]  # the window is a QObject

    def safe(change: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                change()
            except BgmatchError as exc:
                w.show_error(str(exc))
        return run

    grid = (
        make_action(parent, "Halve Tempo", safe(session.halve_tempo), (),
                    "The beat tracker found double the real tempo: halve it", button_text="Half tempo"),
        make_action(parent, "Double Tempo", safe(session.double_tempo), (),
                    "The beat tracker found half the real tempo: double it", button_text="Double tempo"),
        make_action(parent, "Beat Grid 10 ms Earlier", safe(lambda: session.shift_grid(-0.01)), (),
                    "Move the beat grid 10 ms earlier", button_text="Grid −10 ms"),
        make_action(parent, "Beat Grid 10 ms Later", safe(lambda: session.shift_grid(0.01)), (),
                    "Move the beat grid 10 ms later", button_text="Grid +10 ms"),
        make_action(parent, "Beat Grid Half a Beat", safe(session.shift_half_beat), (),
                    "Move the beat grid by half a beat (on the off-beat)", button_text="Grid +½ beat"),
        make_action(parent, "Reset Beat Grid", safe(session.reset_grid), (),
                    "Forget the correction of this track", button_text="Reset"),
    )
    return AlignmentActions(
        earlier_beat=make_action(parent, "Track Earlier by a Beat", lambda: session.nudge_beats(-1), ("Ctrl+Left",),
                                 "Start the track one beat earlier", button_text="−1 beat"),
        later_beat=make_action(parent, "Track Later by a Beat", lambda: session.nudge_beats(1), ("Ctrl+Right",),
                               "Start the track one beat later", button_text="+1 beat"),
        earlier_tenth=make_action(parent, "Track Earlier by 0.1 s", lambda: session.nudge_seconds(-0.1),
                                  ("Alt+Left",), "Start the track 0.1 s earlier", button_text="−0.1 s"),
        later_tenth=make_action(parent, "Track Later by 0.1 s", lambda: session.nudge_seconds(0.1), ("Alt+Right",),
                                "Start the track 0.1 s later", button_text="+0.1 s"),
        snap=make_action(parent, "Snap Offset to Beat", session.snap_to_beat, ("B",),
                         "Snap the offset to the nearest beat, so the video starts on a beat", button_text="Snap"),
        grid=grid,
    )


def build_menus(w: MenuHost, alignment: AlignmentActions) -> None:
    """File, Library, Playback, Training and Help; keeps the actions other code enables on ``w``."""
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    w.open_action = add_action(w, file_menu, "&Open Video…", w.suggest_flow.open_video_dialog, ("Ctrl+O",))
    w.export_action = add_action(w, file_menu, "&Export With Track…", lambda: w.export_flow.export(), ("Ctrl+E",),
                                 "Write the video with the chosen track, trimmed and faded")
    w.export_action.setEnabled(False)
    w.export_timeline_action = add_action(
        w, file_menu, "Export &Timeline…", lambda: w.export_flow.export_timeline(), ("Ctrl+Shift+E",),
        "Write a timeline for your editor (the file type picks the format: .otio, .fcpxml, .xml, .edl, .kdenlive)")
    w.export_timeline_action.setEnabled(w.session.chosen is not None)
    w.session.events.chosen.connect(lambda choice: w.export_timeline_action.setEnabled(choice is not None))
    file_menu.addSeparator()
    add_action(w, file_menu, "&Quit", w.close, ("Ctrl+Q",))

    library = bar.addMenu("&Library")
    w.add_folder_action = add_action(w, library, "&Add Folder…", w.library_flow.add_folder_dialog, ("Ctrl+Shift+A",),
                                     "Index a folder of music")
    add_action(w, library, "&Use Library Folder…", w.library_flow.choose_dialog, (),
               "Switch to another library folder (created if new)")
    add_action(w, library, "Show &Library", lambda: w.tabs.setCurrentWidget(w.library_panel), ("Ctrl+L",))

    preview = w.preview_flow
    play = bar.addMenu("&Playback")
    add_action(w, play, "Play / Pause", w.player.toggle, ("Space",))
    add_action(w, play, "Play (again: faster)", preview.play_forward, ("L",))
    add_action(w, play, "Pause", preview.pause, ("K",))
    add_action(w, play, f"Jump Back {JUMP_BACK_S:g} s", lambda: w.player.step(-JUMP_BACK_S), ("J",))
    play.addSeparator()
    for text, delta, key in (("Back 1 s", -1.0, "Left"), ("Forward 1 s", 1.0, "Right"),
                             ("Back 5 s", -5.0, "Shift+Left"), ("Forward 5 s", 5.0, "Shift+Right")):
        add_action(w, play, text, lambda _checked=False, d=delta: w.player.step(d), (key,))
    add_action(w, play, "To Start", lambda: w.player.seek(0.0), ("Home",))
    play.addSeparator()
    play.addActions([alignment.earlier_beat, alignment.later_beat, alignment.earlier_tenth, alignment.later_tenth,
                     alignment.snap])
    play.addSeparator()
    add_action(w, play, "Next Suggestion", lambda: w.suggestions.select_next(1), ("N",))
    add_action(w, play, "Previous Suggestion", lambda: w.suggestions.select_next(-1), ("Shift+N",))

    training = bar.addMenu("&Training")
    add_action(w, training, "&Retrain…", w.training_flow.open, (), "Train the matching model on your past edits")
    w.model_menu = training.addMenu("&Model")
    w.model_menu.aboutToShow.connect(w.model_flow.fill_menu)
    add_action(w, training, "&Use Model…", w.model_flow.use_dialog, (),
               "Rank with a trained model bundle folder (the library is embedded for it first)")
    add_action(w, training, "Use &Analysis Only", w.model_flow.use_analysis_only, (),
               "Rank by beats, onsets and energy alone, without a trained model")
    training.addSeparator()
    w.undo_model_action = add_action(w, training, "&Undo Model Change", w.model_flow.undo, (),
                                     "Go back to the model used before the last change")
    w.undo_model_action.setEnabled(False)

    help_menu = bar.addMenu("&Help")
    add_action(w, help_menu, "&Keyboard Shortcuts", w.show_shortcuts, ("F1",))


def shortcuts_html(bar: QMenuBar) -> str:
    """A table of every menu command that has a shortcut."""
    rows = []
    for menu_action in bar.actions():
        menu = menu_action.menu()
        for action in menu.actions() if menu is not None else []:
            keys = keys_text(action)
            if keys:
                rows.append(f"<tr><td><b>{keys}</b></td><td>{action.text().replace('&', '')}</td></tr>")
    return f"<table cellpadding=3>{''.join(rows)}</table>"
