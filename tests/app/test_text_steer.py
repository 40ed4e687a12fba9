"""Text steering in the window: the words and their weight re-rank the video without analysing it again."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from bgmatch.engine.library import Library
from bgmatch.engine.session import TextSteer


@pytest.fixture()
def no_decoding(analysed, monkeypatch):
    """The analysed window; decoding or analysing a video again fails the test."""
    def refuse(*_a, **_k):
        raise AssertionError("the video was decoded again")

    for name in ("decode_video", "analyze_video", "query"):
        monkeypatch.setattr(Library, name, refuse)
    return analysed


def _type(qtbot, window, text: str) -> None:
    bar = window.suggestions.steer_bar
    bar.text.clear()
    qtbot.keyClicks(bar.text, text)
    qtbot.keyClick(bar.text, Qt.Key.Key_Return)


def _settled(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.suggest_flow.rerank_job is None, timeout=120_000)


def _order(window) -> list[str]:
    return [s.track_id for s in window.session.suggestions]


def test_words_rerank_the_kept_video_and_empty_words_go_back(qtbot, no_decoding):
    window = no_decoding
    video_order, query = _order(window), window.session.query
    chosen = window.session.chosen
    _type(qtbot, window, "epic orchestral")
    assert window.suggest_flow.rerank_job is not None  # in a worker
    _settled(qtbot, window)
    steer = TextSteer("epic orchestral", 0.5)
    assert window.session.steer == steer and window.session.query is query
    ranked = window.session.suggestions
    assert all("text" in s.parts for s in ranked) and "Ranked for “epic orchestral”" in window.status_label.text()
    blended = [s.score for s in ranked]
    assert blended == sorted(blended, reverse=True)
    assert window.session.chosen.track_id == chosen.track_id  # the choice stays while listed
    assert window.suggestions.current().track_id == chosen.track_id
    # All the way to the words: the text score alone orders the list.
    window.suggestions.steer_bar.slider.setValue(100)
    _settled(qtbot, window)
    text = [s.parts["text"] for s in window.session.suggestions]
    assert window.session.steer.weight == 1.0 and text == sorted(text, reverse=True)
    assert _order(window) != video_order
    # Whitespace is the video alone: today's ranking exactly.
    _type(qtbot, window, "   ")
    qtbot.waitUntil(lambda: window.suggest_flow.rerank_job is not None or not window.session.steer.active,
                    timeout=5_000)
    _settled(qtbot, window)
    assert _order(window) == video_order and all("text" not in s.parts for s in window.session.suggestions)


def test_words_matching_no_tag_say_so_and_keep_the_video_ranking(qtbot, no_decoding):
    window = no_decoding
    video_order = _order(window)
    _type(qtbot, window, "xqzv blorf")
    _settled(qtbot, window)
    assert "matches none of the music tags" in window.status_label.text()
    assert window.status_label.objectName() == "error"
    assert _order(window) == video_order and window.last_message is None  # the status bar, no message box


def test_words_typed_before_a_video_steer_its_ranking(qtbot, window, video):
    bar = window.suggestions.steer_bar
    bar.text.setText("calm piano")
    bar.slider.setValue(80)
    assert window.suggest_flow.open_video(video)
    qtbot.waitUntil(lambda: window.session.video is not None and window.suggest_flow.job is None, timeout=120_000)
    assert window.session.steer == TextSteer("calm piano", 0.8)
    assert all("text" in s.parts for s in window.session.suggestions)


def test_words_typed_while_the_video_is_analysed_rank_it_when_done(qtbot, window, video):
    assert window.suggest_flow.open_video(video)
    _type(qtbot, window, "epic orchestral")
    assert window.suggest_flow.job is not None  # still analysing: the words wait for it
    qtbot.waitUntil(lambda: window.session.video is not None and window.suggest_flow.job is None, timeout=120_000)
    _settled(qtbot, window)
    assert window.suggestions.steer_bar.text.text() == "epic orchestral"  # the ranking did not undo the typing
    assert window.session.steer == TextSteer("epic orchestral", 0.5)
    assert all("text" in s.parts for s in window.session.suggestions)


def test_going_to_the_text_box_loads_the_text_model_ahead(qtbot, window):
    from bgmatch.engine.library import search

    search._space.cache_clear()
    window.activateWindow()
    window.suggestions.steer_bar.text.setFocus()
    qtbot.waitUntil(lambda: window.suggest_flow.text_warmed, timeout=5_000)
    qtbot.waitUntil(lambda: not window.runner.active("warm-text"), timeout=120_000)
    assert search._space.cache_info().currsize == 1  # the tag space is loaded before any words
    window.suggestions.steer_bar.text.clearFocus()
    window.suggestions.steer_bar.text.setFocus()
    assert not window.runner.active("warm-text")  # once
