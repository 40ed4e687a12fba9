"""Text steering, fit measures and the tag filter in the Qt-free session, on real demo music."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.library import Library, probe
from bgmatch.engine.session import LoadedVideo, Session, TextSteer, carries, rank, tag_counts

REPO = Path(__file__).resolve().parents[2]
DEMO_VIDEO = REPO / "assets" / "demo" / "video.mp4"
TRACKS = 6


@pytest.fixture(scope="module")
def template(tmp_path_factory, demo_music):
    """A tagged library of a few demo tracks and the demo video's decoded query (made once)."""
    folder = tmp_path_factory.mktemp("steer") / "lib"
    with Library.open(folder) as library:
        assert len(library.add(demo_music[:TRACKS]).added) == TRACKS
        query = library.query(DEMO_VIDEO)
    return folder, query


@pytest.fixture()
def steered(template, tmp_path):
    folder, query = template
    shutil.copytree(folder, tmp_path / "lib")
    library = Library.open(tmp_path / "lib", create=False)
    session = Session(library)
    ranking = rank(library, query, TextSteer(), top=TRACKS)
    session.set_video(LoadedVideo(DEMO_VIDEO, probe(DEMO_VIDEO), query.analysis), ranking.suggestions,
                      query=query, fits=ranking.fits)
    yield session
    library.close()


def test_steer_is_video_only_for_empty_text_or_zero_weight():
    assert not TextSteer("   ").active and not TextSteer("calm piano", 0.0).active
    assert TextSteer("calm piano", 0.3).active
    with pytest.raises(ConfigError, match="between 0 and 1"):
        TextSteer("calm", 1.5)


def test_fits_use_the_cli_vocabulary(steered):
    from bgmatch.engine.analysis.fitmeasure import fit_percent

    for s in steered.suggestions:
        fit = steered.fit_of(s)
        assert fit.fit == fit_percent(s.score) and 0 <= fit.cuts_on_beat <= fit.cuts_total
        assert fit.cuts_total == len(steered.video.analysis.cut_times_s) and fit.energy in ("good", "fair", "poor")


def test_reranking_by_text_keeps_the_query_offsets_and_choice(steered):
    session = steered
    library, query = session.library, session.query
    video_order = [s.track_id for s in session.suggestions]
    chosen = session.suggestions[1]
    session.choose(chosen)
    session.set_offset(chosen.offset_s + 0.5)
    moved = session.fit_of(chosen)
    seen: list[str] = []
    for name in ("steer", "suggestions", "chosen", "video"):
        getattr(session.events, name).connect(lambda _v, n=name: seen.append(n))
    steer = TextSteer("epic orchestral", 1.0)
    ranking = rank(library, query, steer, top=TRACKS, known=session.fits)
    assert ranking.steered and not ranking.message
    assert [s.track_id for s in ranking.suggestions] != video_order  # the text alone orders them
    text = [s.parts["text"] for s in ranking.suggestions]
    assert text == sorted(text, reverse=True)
    session.set_ranking(ranking, steer)
    assert seen == ["steer", "suggestions"]  # no new video, the chosen track is still listed
    assert session.steer == steer and session.query is query
    assert session.chosen.track_id == chosen.track_id and session.offset_s == pytest.approx(chosen.offset_s + 0.5)
    assert session.fit_of(session.chosen) == moved  # the user's offset still counts the cuts
    # Back to the video alone: exactly the first ranking.
    session.set_ranking(rank(library, query, TextSteer("   "), top=TRACKS), TextSteer("   "))
    assert [s.track_id for s in session.suggestions] == video_order


def test_a_text_matching_no_tag_gives_the_video_ranking_and_the_engine_message(steered):
    ranking = rank(steered.library, steered.query, TextSteer("xqzv blorf", 0.5), top=TRACKS)
    assert not ranking.steered and "matches none of the music tags" in ranking.message
    assert [s.track_id for s in ranking.suggestions] == [s.track_id for s in steered.suggestions]


def test_user_offset_recounts_cuts_on_a_beat(steered):
    session = steered
    s = session.chosen
    base = session.fits[s.track_id]
    counts = set()
    for k in range(20):  # off the beat somewhere between beats
        session.set_offset(s.offset_s + 0.013 * k)
        counts.add(session.fit_of(s).cuts_on_beat)
        assert session.fit_of(s).fit == base.fit
    assert len(counts) > 1 and base.cuts_on_beat in counts


def test_tag_filter_and_counts(steered):
    session = steered
    seen: list[object] = []
    session.events.tag_filter.connect(seen.append)
    counts = tag_counts(s.tags for s in session.suggestions)
    tag, n = counts[0]
    assert n == max(c for _t, c in counts) and n >= 2
    session.set_tag_filter(tag)
    assert session.tag_filter == tag and seen == [tag]
    assert sum(carries(s.tags, tag) for s in session.suggestions) == n
    session.set_tag_filter(tag)  # the same again: no event
    session.set_tag_filter("")
    assert session.tag_filter is None and seen == [tag, None]
    assert all(carries(s.tags, None) for s in session.suggestions)
