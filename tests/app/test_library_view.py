"""Library ▸ Add Folder: indexing in a worker with progress and Cancel; the view survives restarts."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from bgmatch.app.library_view import HEADERS

from .conftest import LIBRARY_TRACKS


@pytest.fixture()
def music_folder(tmp_path: Path, gallery: list[Path]) -> Path:
    """Four new real tracks (not yet in the test library) and one broken file."""
    folder = tmp_path / "new music"
    folder.mkdir()
    for src in gallery[LIBRARY_TRACKS:LIBRARY_TRACKS + 4]:
        shutil.copy(src, folder / src.name)
    (folder / "broken.ogg").write_bytes(b"OggS" + bytes(500))
    return folder


def _titles(window) -> list[str]:
    proxy = window.library_panel.proxy
    return [proxy.index(r, 0).data() for r in range(proxy.rowCount())]


def test_view_lists_tracks_with_their_analysis(window):
    panel = window.library_panel
    assert panel.stack.currentWidget() is panel.table
    assert [panel.model.headerData(i, Qt.Orientation.Horizontal) for i in range(len(HEADERS))] == list(HEADERS)
    rows = panel.model.rows()
    assert len(rows) == LIBRARY_TRACKS and all(r.info.tempo_bpm > 0 and r.n_beats > 10 for r in rows)
    bpm = [panel.proxy.index(r, 1).data() for r in range(panel.proxy.rowCount())]
    assert all(float(b) > 0 for b in bpm)
    assert f"{LIBRARY_TRACKS} tracks in " in panel.summary.text()
    query = rows[0].info.title
    panel.search.setText(query.upper())
    assert query in _titles(window) and panel.proxy.rowCount() < LIBRARY_TRACKS
    panel.search.clear()
    assert panel.proxy.rowCount() == LIBRARY_TRACKS


def test_add_folder_from_menu_with_progress_and_report(qtbot, window, music_folder, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(music_folder))
    fractions: list[float] = []
    window.add_folder_action.trigger()
    job = window.library_flow.add_job
    job.signals.progress.connect(lambda done, total, _t: fractions.append(done / total if total else 0.0))
    assert window.library_panel.progress_row.isVisible() and not window.library_panel.add_button.isEnabled()
    qtbot.waitUntil(lambda: window.library_flow.add_job is None, timeout=60_000)
    qtbot.waitUntil(lambda: window.library_panel.model.rowCount() == LIBRARY_TRACKS + 4, timeout=10_000)
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert not window.library_panel.progress_row.isVisible()
    assert "4 added" in window.status_label.text() and "1 failed" in window.status_label.text()
    assert "broken.ogg" in window.last_message.text()  # the bad file is named
    assert window.settings.last_folder("music") == music_folder


def test_cancel_stops_indexing_after_the_current_file(qtbot, window, music_folder):
    job = window.library_flow.add_folder(music_folder)
    reports = []
    job.signals.succeeded.connect(reports.append)

    def cancel_after_first(done: int, _total: int, _text: str) -> None:
        if done > 0 and window.library_panel.cancel_button.isEnabled():
            qtbot.mouseClick(window.library_panel.cancel_button, Qt.MouseButton.LeftButton)

    job.signals.progress.connect(cancel_after_first)
    qtbot.waitUntil(lambda: window.library_flow.add_job is None, timeout=60_000)
    assert reports and reports[0].cancelled
    assert 1 <= len(reports[0].added) < 4
    assert "cancelled" in window.status_label.text()
    expected = LIBRARY_TRACKS + len(reports[0].added)
    qtbot.waitUntil(lambda: window.library_panel.model.rowCount() == expected, timeout=10_000)


def test_library_survives_a_restart(qtbot, window, settings, music_folder):
    window.library_flow.add_folder(music_folder)
    qtbot.waitUntil(lambda: window.library_flow.add_job is None, timeout=60_000)
    qtbot.waitUntil(lambda: window.library_panel.model.rowCount() == LIBRARY_TRACKS + 4, timeout=10_000)
    titles = sorted(_titles(window))
    window.close()

    from bgmatch.app.main_window import MainWindow
    from bgmatch.app.settings import AppSettings

    again = MainWindow(AppSettings())  # fresh settings object: the library path comes from disk
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: again.library_panel.model.rowCount() == LIBRARY_TRACKS + 4, timeout=10_000)
    assert sorted(_titles(again)) == titles
    assert again.library.folder == settings.library_path
    again.close()


def test_empty_library_shows_hints(qtbot, tmp_path, temp_settings, video):
    from bgmatch.app.main_window import MainWindow
    from bgmatch.app.settings import AppSettings

    s = AppSettings()
    s.library_path = tmp_path / "empty library"
    w = MainWindow(s)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: "library is empty" in w.suggestions.empty.text(), timeout=10_000)
    assert w.library_panel.stack.currentWidget() is w.library_panel.empty
    assert "Add Folder" in w.library_panel.empty.text()
    w.suggest_flow.open_video(video)
    qtbot.waitUntil(lambda: w.session.video is not None, timeout=60_000)
    assert w.session.suggestions == [] and w.suggestions.stack.currentWidget() is w.suggestions.empty
    assert w.timeline.plot.overlay is not None  # the video's motion is shown anyway
    w.close()


HOLD_LOCK = """
import sys, time
from bgmatch.engine.library import Library
with Library.open(sys.argv[1]) as lib, lib.writing():
    print("locked", flush=True)
    time.sleep(120)
"""


def test_second_writer_is_refused_with_a_clear_message(qtbot, window, music_folder, library_dir):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(library_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        window.library_flow.add_folder(music_folder)
        qtbot.waitUntil(lambda: window.library_flow.add_job is None, timeout=60_000)
        shown = window.last_message.text() + " " + window.status_label.text()
        assert f"another process (pid {holder.pid}) is adding to this library" in shown
        assert window.library_panel.model.rowCount() == LIBRARY_TRACKS  # nothing changed
    finally:
        holder.kill()
        holder.wait()
