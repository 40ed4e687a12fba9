"""The suggestion list: columns, sorting by header clicks, tempo/duration filters, "more like this"."""
from __future__ import annotations

import math

import pytest

from PySide6.QtCore import QPoint, Qt

from bgmatch.app.suggestions import COL, COLUMNS, SORT_ROLE


def _column(window, header: str) -> list[str]:
    proxy = window.suggestions.proxy
    return [proxy.index(r, COL[header]).data() for r in range(proxy.rowCount())]


def _click_header(qtbot, window, header: str) -> None:
    view = window.suggestions.table.horizontalHeader()
    x = view.sectionViewportPosition(COL[header]) + view.sectionSize(COL[header]) // 2
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, view.height() // 2))


def test_columns_show_rank_score_parts_tempo_length_offset(analysed):
    window = analysed
    headers = [window.suggestions.proxy.headerData(i, Qt.Orientation.Horizontal) for i in range(len(COLUMNS))]
    assert headers == ["#", "Title", "Score", "Sync", "Onset", "Energy", "Learned", "BPM", "Length", "Offset", "Like"]
    best = window.session.suggestions[0]
    assert _column(window, "#")[0] == "1"
    assert _column(window, "Title")[0] == best.title
    assert _column(window, "Score")[0] == f"{best.score:+.2f}"
    assert _column(window, "Sync")[0] == f"{best.parts['beat']:+.2f}"
    assert _column(window, "BPM")[0] == f"{best.tempo_bpm:.1f}"
    m, s = divmod(round(best.offset_s, 2), 60)
    assert _column(window, "Offset")[0] == f"{int(m)}:{s:05.2f}"
    assert window.suggestions.table.isColumnHidden(COL["Like"])
    assert window.suggestions.table.isColumnHidden(COL["Learned"])  # no model: no learned part


def test_header_clicks_sort_numerically(qtbot, analysed):
    window = analysed
    _click_header(qtbot, window, "BPM")
    tempi = [float(t) for t in _column(window, "BPM")]
    assert tempi == sorted(tempi) or tempi == sorted(tempi, reverse=True)
    _click_header(qtbot, window, "BPM")
    again = [float(t) for t in _column(window, "BPM")]
    assert again == list(reversed(tempi)) or sorted(again) == sorted(tempi)
    _click_header(qtbot, window, "#")
    ranks = [int(r) for r in _column(window, "#")]
    assert ranks in (sorted(ranks), sorted(ranks, reverse=True))


def test_tempo_and_duration_filters(qtbot, analysed):
    window = analysed
    panel = window.suggestions
    tempi = sorted(s.tempo_bpm for s in window.session.suggestions)
    lo = math.floor(tempi[len(tempi) // 2])
    panel.min_bpm.setValue(lo)
    shown = [float(t) for t in _column(window, "BPM")]
    assert shown and all(t >= lo for t in shown) and len(shown) < len(tempi)
    assert "shown" in panel.filter_note.text()
    panel.max_bpm.setValue(lo - 1)  # an inverted range is read the other way round
    assert all(lo - 1 <= float(t) <= lo for t in _column(window, "BPM"))
    panel.set_filter_values()
    assert panel.proxy.rowCount() == len(tempi)
    longest = max(s.duration_s for s in window.session.suggestions)
    panel.min_len.setValue(math.ceil(longest) + 1)
    assert panel.proxy.rowCount() == 0
    panel.min_len.setValue(0)
    assert panel.proxy.rowCount() == len(tempi)


def test_more_like_this_sorts_by_likeness(qtbot, analysed):
    window = analysed
    panel = window.suggestions
    panel.select_row(2)
    query = panel.current()
    qtbot.mouseClick(panel.like_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.table.isColumnHidden(COL["Like"]), timeout=10_000)
    likes = [panel.proxy.index(r, COL["Like"]).data(SORT_ROLE) for r in range(panel.proxy.rowCount())]
    assert likes == sorted(likes, reverse=True)
    assert panel.current().track_id == query.track_id  # the track itself is most like itself
    assert query.title in panel.like_note.text() and panel.clear_like_button.isVisible()
    # Offsets stay those suggested for this video.
    assert all(s.offset_s >= 0 for s in panel.model.suggestions())
    qtbot.mouseClick(panel.clear_like_button, Qt.MouseButton.LeftButton)
    assert panel.table.isColumnHidden(COL["Like"]) and [int(r) for r in _column(window, "#")] == list(range(1, 7))


def test_clicking_a_row_chooses_that_track(qtbot, analysed):
    window = analysed
    table = window.suggestions.table
    rect = table.visualRect(window.suggestions.proxy.index(3, COL["Title"]))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    chosen = window.suggestions.current()
    assert chosen.rank == 4 and window.session.chosen == chosen
    assert window.player.track_path is not None and str(window.player.track_path) == chosen.path
    assert window.player.offset_s == chosen.offset_s
    assert window.export_action.isEnabled()
    qtbot.waitUntil(lambda: window.player.is_playing, timeout=5_000)  # choosing a track plays it
    window.player.pause()


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


def test_titles_keep_their_room_beside_the_numbers(qtbot, themed, analysed):
    """At a laptop-sized window the title column is wide enough for every title (numbers fit their text)."""
    window = analysed
    window.resize(1280, 800)
    table = window.suggestions.table
    header = table.horizontalHeader()
    qtbot.waitUntil(lambda: header.sectionSize(COL["Title"]) >= table.sizeHintForColumn(COL["Title"]), timeout=5_000)
    metrics = header.fontMetrics()
    for name in ("Score", "Sync", "Onset", "Energy", "BPM", "Length", "Offset"):
        size = header.sectionSize(COL[name])
        assert size >= table.sizeHintForColumn(COL[name]) and size >= metrics.horizontalAdvance(name)
    assert not table.horizontalScrollBar().isVisible()
