"""Library ▸ Add Folder: indexing in a worker with progress and Cancel; the view survives restarts."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from bgmatch.app.library_view import HEADERS, LCOL

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
    bpm = [panel.proxy.index(r, LCOL["BPM"]).data() for r in range(panel.proxy.rowCount())]
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


@pytest.fixture()
def themed(qapp):
    """The app's theme (as ``bgmatch app`` sets it), undone afterwards."""
    from bgmatch.app.theme import apply_theme

    style, sheet, palette = qapp.style().name(), qapp.styleSheet(), qapp.palette()
    apply_theme(qapp)
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setStyle(style)


def test_titles_are_whole_or_elided_with_a_tooltip(qtbot, themed, window):
    """At a laptop-sized window, in the Library tab, every title has room with air beside it; a title
    longer than the column's cap is elided, and its tooltip has it whole."""
    from bgmatch.app.library_view import TITLE_CAP_PX

    window.resize(1280, 800)
    window.tabs.setCurrentWidget(window.library_panel)
    panel = window.library_panel
    table, header = panel.table, panel.table.horizontalHeader()
    qtbot.waitUntil(lambda: table.isVisible(), timeout=5_000)
    qtbot.wait(50)
    metrics = table.fontMetrics()
    widest = max(metrics.horizontalAdvance(r.info.title) for r in panel.model.rows())
    assert header.sectionSize(LCOL["Title"]) >= min(widest + 12, TITLE_CAP_PX)
    for r in range(panel.proxy.rowCount()):
        title = panel.proxy.index(r, LCOL["Title"]).data()
        tip = panel.proxy.index(r, LCOL["Title"]).data(Qt.ItemDataRole.ToolTipRole)
        assert tip.splitlines()[0].startswith(title)
    assert table.textElideMode() == Qt.TextElideMode.ElideRight


def test_tag_chips_and_filter_in_the_library(qtbot, window):
    panel = window.library_panel
    rows = panel.model.rows()
    assert all(r.info.tags for r in rows)  # the tagger's tags, stored at indexing
    assert panel.proxy.index(0, LCOL["Tags"]).data() == ""  # painted as chips, not text
    assert not panel.table.isColumnHidden(LCOL["Artist"])  # the demo files carry artist tags
    tag = panel.tag_box.itemData(1)
    panel.tag_box.setCurrentIndex(1)
    panel.tag_box.activated.emit(1)
    assert window.session.tag_filter == tag
    shown = [panel.model.rows()[panel.proxy.mapToSource(panel.proxy.index(r, 0)).row()]
             for r in range(panel.proxy.rowCount())]
    assert shown and all(tag in dict(r.info.tags) for r in shown) and len(shown) < len(rows)
    assert panel.summary.text().startswith(f"{len(shown)} of {len(rows)} tracks in ")
    panel.search.setText(shown[0].info.title)  # the search and the tag together
    assert panel.proxy.rowCount() == 1 and panel.summary.text().startswith(f"1 of {len(rows)} tracks")
    panel.search.clear()
    window.session.set_tag_filter(None)
    assert panel.proxy.rowCount() == len(rows) and panel.tag_box.currentIndex() == 0
    assert panel.summary.text().startswith(f"{len(rows)} tracks in ")
