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


def test_a_one_off_library_is_not_saved_and_one_chosen_in_the_app_is(qtbot, tmp_path, temp_settings, library_dir):
    saved = tmp_path / "saved library"
    AppSettings().library_path = saved
    s = AppSettings()
    s.use_library_once(library_dir)  # bgmatch app --library library_dir
    w = MainWindow(s)
    qtbot.addWidget(w)
    assert w.library.folder == library_dir and s.library_path == library_dir
    w.close()
    assert AppSettings().library_path == saved  # the next start opens the saved one
    # A library chosen inside the app is saved.
    s = AppSettings()
    s.use_library_once(library_dir)
    w = MainWindow(s)
    qtbot.addWidget(w)
    chosen = tmp_path / "chosen library"
    assert w.library_flow.open(chosen)
    w.close()
    assert AppSettings().library_path == chosen


def test_export_folder_is_the_video_folder_until_its_project_exported_elsewhere(temp_settings, tmp_path):
    project, other, exports = tmp_path / "project", tmp_path / "other", tmp_path / "exports"
    for folder in (project, other, exports):
        folder.mkdir()
    s = AppSettings()
    assert s.export_folder(project / "a.mp4") == project
    s.set_export_folder(project / "a.mp4", exports)
    again = AppSettings()
    assert again.export_folder(project / "b.mp4") == exports  # the same project: where its exports went
    assert again.export_folder(other / "c.mp4") == other  # another project: its own folder
    assert again.last_folder("export") == exports
    exports.rmdir()
    assert again.export_folder(project / "b.mp4") == project  # gone: back to the video's folder
    assert again.export_folder(tmp_path / "gone" / "d.mp4") == Path.home()


def test_export_loudness_is_remembered(temp_settings):
    s = AppSettings()
    assert s.export_loudness(default_lufs=-14.0, default_ceiling_dbtp=-1.0) == (-14.0, -1.0)
    s.set_export_loudness(None, -2.5)
    assert AppSettings().export_loudness(default_lufs=-14.0, default_ceiling_dbtp=-1.0) == (None, -2.5)
    s.set_export_loudness(-16.0, -1.0)
    assert AppSettings().export_loudness(default_lufs=-14.0, default_ceiling_dbtp=-1.0) == (-16.0, -1.0)
