"""Settings persist in the temporary QSettings location: library, layout, folders, model choice."""
from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QSettings

from bgmatch.app.main_window import MainWindow
from bgmatch.app.settings import MODEL_DEFAULT, AppSettings, default_library_path


def test_settings_live_in_the_temporary_folder(temp_settings):
    s = AppSettings()
    s.model_choice = "x.pt"
    s.sync()
    assert Path(s.file_path).is_relative_to(temp_settings)
    assert Path(s.file_path).exists()


def test_defaults(temp_settings):
    s = AppSettings()
    assert s.library_path == default_library_path()
    assert s.model_choice == MODEL_DEFAULT
    assert s.last_folder("video") == Path.home()
    assert 0 <= s.volume <= 1


def test_window_layout_and_folders_survive_a_restart(qtbot, window, tmp_path):
    window.resize(window.minimumSizeHint().width(), 640)  # the offscreen screen is 800 px: stay within it
    window.top_splitter.setSizes([300, 900])
    window.settings.set_last_folder("video", tmp_path)
    qtbot.wait(50)
    sizes = window.top_splitter.sizes()
    window.close()
    again = MainWindow(AppSettings())
    qtbot.addWidget(again)
    again.show()
    assert again.height() == 640 and again.width() == window.width()
    assert again.top_splitter.sizes() == sizes
    assert again.settings.last_folder("video") == tmp_path
    assert again.settings.library_path == window.settings.library_path
    again.close()


def test_model_choice_from_the_menu_persists(qtbot, window, tiny_bundle_dir):
    bundle = window.library.folder / "models" / "mine" / "model"
    shutil.copytree(tiny_bundle_dir, bundle)
    qtbot.waitUntil(lambda: window.model_flow.job is None, timeout=120_000)  # the saved choice is applied
    window.model_menu.aboutToShow.emit()
    actions = {a.text(): a for a in window.model_menu.actions()}
    assert actions["Analysis Score (beats, onsets, energy)"].isChecked() and len(actions) == 2
    actions["mine"].trigger()
    qtbot.waitUntil(lambda: window.model_flow.job is None, timeout=120_000)  # loaded and embedded
    assert window.model_label.text() == "Model: mine"
    window.close()
    assert QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                     QSettings().organizationName(), "bgmatch").value("model/choice") == str(bundle)
    assert AppSettings().model_choice == str(bundle)


def test_unusable_library_path_is_reported(qtbot, tmp_path, temp_settings):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    s = AppSettings()
    s.library_path = blocker
    w = MainWindow(s)
    qtbot.addWidget(w)
    assert w.library is None
    assert str(blocker) in w.last_message.text() and "Use Library Folder" in w.last_message.text()
    w.close()
