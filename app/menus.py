"""The main window's menus: one QAction per command, with its keyboard shortcuts."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

if TYPE_CHECKING:
    from .main_window import MainWindow

#: J jumps back this far (s).
JUMP_BACK_S = 2.0


def add_action(window: "MainWindow", menu: QMenu, text: str, slot: Callable[[], object],
               shortcuts: tuple[str, ...] = (), tip: str = "") -> QAction:
    """Add a command to ``menu``."""
    action = QAction(text, window)
    if shortcuts:
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def build_menus(w: "MainWindow") -> None:
    """File, Library, Playback, Training and Help; keeps the actions other code enables on ``w``."""
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    w.open_action = add_action(w, file_menu, "&Open Video…", w.open_video_dialog, ("Ctrl+O",))
    w.export_action = add_action(w, file_menu, "&Export With Track…", lambda: w.export_current(), ("Ctrl+E",),
                                 "Write the video with the chosen track, trimmed and faded")
    w.export_action.setEnabled(False)
    file_menu.addSeparator()
    add_action(w, file_menu, "&Quit", w.close, ("Ctrl+Q",))

    library = bar.addMenu("&Library")
    w.add_folder_action = add_action(w, library, "&Add Folder…", w.add_folder_dialog, ("Ctrl+Shift+A",),
                                     "Index a folder of music")
    add_action(w, library, "&Use Library Folder…", w.choose_library_dialog, (),
               "Switch to another library folder (created if new)")
    add_action(w, library, "Show &Library", lambda: w.tabs.setCurrentWidget(w.library_panel), ("Ctrl+L",))

    play = bar.addMenu("&Playback")
    add_action(w, play, "Play / Pause", w.player.toggle, ("Space",))
    add_action(w, play, "Play (again: faster)", w.play_forward, ("L",))
    add_action(w, play, "Pause", w.pause, ("K",))
    add_action(w, play, f"Jump Back {JUMP_BACK_S:g} s", lambda: w.player.step(-JUMP_BACK_S), ("J",))
    play.addSeparator()
    for text, delta, key in (("Back 1 s", -1.0, "Left"), ("Forward 1 s", 1.0, "Right"),
                             ("Back 5 s", -5.0, "Shift+Left"), ("Forward 5 s", 5.0, "Shift+Right")):
        add_action(w, play, text, lambda _checked=False, d=delta: w.player.step(d), (key,))
    add_action(w, play, "To Start", lambda: w.player.seek(0.0), ("Home",))
    play.addSeparator()
    add_action(w, play, "Track Earlier by a Beat", lambda: w.nudge_beats(-1), ("Ctrl+Left",))
    add_action(w, play, "Track Later by a Beat", lambda: w.nudge_beats(1), ("Ctrl+Right",))
    add_action(w, play, "Track Earlier by 0.1 s", lambda: w.nudge_seconds(-0.1), ("Alt+Left",))
    add_action(w, play, "Track Later by 0.1 s", lambda: w.nudge_seconds(0.1), ("Alt+Right",))
    add_action(w, play, "Snap Offset to Beat", w.snap_to_beat, ("B",))
    play.addSeparator()
    add_action(w, play, "Next Suggestion", lambda: w.suggestions.select_next(1), ("N",))
    add_action(w, play, "Previous Suggestion", lambda: w.suggestions.select_next(-1), ("Shift+N",))

    training = bar.addMenu("&Training")
    add_action(w, training, "&Retrain…", w.open_training, (), "Train the matching model on your past edits")
    w.model_menu = training.addMenu("&Model")
    w.model_menu.aboutToShow.connect(w.fill_model_menu)

    help_menu = bar.addMenu("&Help")
    add_action(w, help_menu, "&Keyboard Shortcuts", w.show_shortcuts, ("F1",))


def shortcuts_html(bar: QMenuBar) -> str:
    """A table of every menu command that has a shortcut."""
    rows = []
    for menu_action in bar.actions():
        menu = menu_action.menu()
        for action in menu.actions() if menu is not None else []:
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
            if keys:
                rows.append(f"<tr><td><b>{keys}</b></td><td>{action.text().replace('&', '')}</td></tr>")
    return f"<table cellpadding=3>{''.join(rows)}</table>"
