"""The suggestion list: hero rows (title, artist, fit, tags, length, play), the details pane, sorting by
header clicks, tempo/duration/tag filters, "more like this"."""
from __future__ import annotations

import math

import pytest

from PySide6.QtCore import QPoint, Qt

from bgmatch.app.suggestions import COL, COLUMNS
from bgmatch.app.tables import SORT_ROLE


def _column(window, header: str) -> list[str]:
    proxy = window.suggestions.proxy
    return [proxy.index(r, COL[header]).data() for r in range(proxy.rowCount())]


def _click_header(qtbot, window, header: str) -> None:
    view = window.suggestions.table.horizontalHeader()
    x = view.sectionViewportPosition(COL[header]) + view.sectionSize(COL[header]) // 2
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, view.height() // 2))


def test_rows_show_title_fit_tempo_length_and_play_the_numbers_are_hidden(analysed):
    from bgmatch.engine.analysis.fitmeasure import cuts_on_beat, fit_percent

    window = analysed
    table = window.suggestions.table
    shown = [c.header for i, c in enumerate(COLUMNS) if not table.isColumnHidden(i)]
    assert shown == ["#", "Track", "Fit", "BPM", "Length", "Play"]
    best = window.session.suggestions[0]
    assert _column(window, "#")[0] == "1"
    assert _column(window, "Track")[0] == best.title
    assert _column(window, "BPM")[0] == f"{best.tempo_bpm:.1f}"
    # The fit in the CLI's vocabulary: 0–100 from the score, cuts within ±40 ms of a beat at the offset.
    for s in window.session.suggestions:
        fit = window.suggestions.model.fit(s)
        assert _column(window, "Fit")[s.rank - 1] == str(fit_percent(s.score)) == str(fit.fit)
        beats = window.library.scoring_analysis(s.track_id).beat_times_s
        assert (fit.cuts_on_beat, fit.cuts_total) == cuts_on_beat(window.session.video.analysis.cut_times_s, beats,
                                                                  offset_s=s.offset_s)
    assert any(s.artist for s in window.session.suggestions) and all(s.tags for s in window.session.suggestions)
    # The raw numbers stay in the model (sorting, scripts) and go to the details pane.
    assert _column(window, "Sync")[0] == f"{best.parts['beat']:+.2f}"
    for name in ("Score", "Sync", "Onset", "Energy", "Learned", "Offset", "Like"):
        assert table.isColumnHidden(COL[name])


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
    rect = table.visualRect(window.suggestions.proxy.index(3, COL["Track"]))
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
    qtbot.waitUntil(lambda: header.sectionSize(COL["Track"]) >= table.sizeHintForColumn(COL["Track"]), timeout=5_000)
    metrics = header.fontMetrics()
    for name in ("Fit", "BPM", "Length", "Play"):
        size = header.sectionSize(COL[name])
        assert size >= table.sizeHintForColumn(COL[name]) and size >= metrics.horizontalAdvance(name)
    assert not table.horizontalScrollBar().isVisible()


def _cell_center(panel, view_row: int, header: str) -> QPoint:
    return panel.table.visualRect(panel.proxy.index(view_row, COL[header])).center()


def test_play_button_chooses_and_plays_that_suggestion(qtbot, analysed):
    window = analysed
    panel = window.suggestions
    target = panel.model.suggestion(panel.proxy.mapToSource(panel.proxy.index(2, 0)).row())
    assert window.session.chosen.track_id != target.track_id and not window.player.is_playing
    rect = panel.play_delegate.button_rect(_option(panel, 2, "Play"))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.session.chosen.track_id == target.track_id and panel.current().track_id == target.track_id
    assert str(window.player.track_path) == target.path
    qtbot.waitUntil(lambda: window.player.is_playing, timeout=5_000)
    window.player.pause()
    # The button of the chosen track plays it again (the choice does not change).
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.player.is_playing, timeout=5_000)
    window.player.pause()


def _option(panel, view_row: int, header: str):
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()
    option.initFrom(panel.table)
    option.rect = panel.table.visualRect(panel.proxy.index(view_row, COL[header]))
    return option


def test_details_pane_has_the_exact_offset_and_the_score_parts(qtbot, analysed):
    from bgmatch.app.formatting import offset_clock

    window = analysed
    panel = window.suggestions
    panel.select_row(1)
    s = panel.current()
    text = panel.details.text()
    assert s.title in text and f"Starts at <b>{offset_clock(s.offset_s)}</b>" in text
    assert all(f"{k} {v:+.3f}" in text for k, v in s.parts.items()) and f"{s.score:+.3f}" in text
    fit = panel.model.fit(s)
    assert f"{fit.cuts_on_beat} of {fit.cuts_total} cuts on a beat" in text and f"energy match {fit.energy}" in text
    assert s.path in text and f"{s.tags[0][0]} {s.tags[0][1]:.0%}" in text
    window.session.set_offset(s.offset_s + 0.0123)  # to the millisecond, the suggested one beside it
    moved = panel.details.text()
    assert offset_clock(s.offset_s + 0.012) in moved and f"suggested {offset_clock(s.offset_s)}" in moved


def _chips(panel, view_row: int) -> dict[str, QPoint]:
    """Where each chip of a row is (tag → centre), as its delegate lays them out."""
    from bgmatch.app.tag_chips import chip_rects, top_names

    option = _option(panel, view_row, "Track")
    s = panel.model.suggestion(panel.proxy.mapToSource(panel.proxy.index(view_row, 0)).row())
    return {name: rect.center() for rect, name in
            chip_rects(option.fontMetrics, panel.track_delegate.chip_area(option), top_names(s.tags))}


def test_clicking_a_tag_chip_filters_both_lists_and_again_clears(qtbot, analysed):
    window = analysed
    panel = window.suggestions
    tag, where = next(iter(_chips(panel, 0).items()))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert window.session.tag_filter == tag and panel.tag_box.tag == tag
    carrying = [s for s in window.session.suggestions if tag in dict(s.tags)]
    assert 0 < panel.proxy.rowCount() == len(carrying) < len(window.session.suggestions)
    library = window.library_panel
    assert library.proxy.rowCount() == sum(tag in dict(r.info.tags) for r in library.model.rows())
    assert library.proxy.rowCount() < library.model.rowCount() and library.tag_box.tag == tag
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=_chips(panel, 0)[tag])
    assert window.session.tag_filter is None
    assert panel.proxy.rowCount() == len(window.session.suggestions)
    assert library.proxy.rowCount() == library.model.rowCount()


def test_tag_box_chooses_and_clears_the_filter(qtbot, analysed):
    window = analysed
    box = window.suggestions.tag_box
    assert box.itemText(0) == "All tags" and box.count() > 2
    tag = box.itemData(1)
    box.activated.emit(1)  # what a pick in the drop-down sends
    assert window.session.tag_filter == tag
    assert window.library_panel.tag_box.currentData() == tag
    window.library_panel.tag_box.setCurrentIndex(0)
    window.library_panel.tag_box.activated.emit(0)
    assert window.session.tag_filter is None and box.currentIndex() == 0
    assert window.suggestions.proxy.rowCount() == len(window.session.suggestions)


def test_filtering_never_chooses_another_track(qtbot, analysed):
    window = analysed
    panel = window.suggestions
    chosen = window.session.chosen
    other = next(tag for s in window.session.suggestions for tag, _p in s.tags if tag not in dict(chosen.tags))
    window.session.set_tag_filter(other)  # hides the chosen track
    assert panel.proxy.rowCount() > 0 and window.session.chosen == chosen and not window.player.is_playing
    assert panel.current() is None
    window.session.set_tag_filter(None)
    assert panel.current().track_id == chosen.track_id and window.session.chosen == chosen
    panel.select_row(1)
    picked = window.session.chosen
    assert picked.track_id != chosen.track_id
    panel.min_bpm.setValue(math.floor(picked.tempo_bpm))  # keeps the picked track: still selected
    assert window.session.chosen == picked and panel.current().track_id == picked.track_id
    window.player.pause()
