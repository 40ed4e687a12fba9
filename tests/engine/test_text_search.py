"""Text search and text-steered suggestions over the tagged demo library (24 real excerpts)."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.errors import ConfigError, LibraryError
from bgmatch.engine.learned.textspace import NoTextMatchError
from bgmatch.engine.library import Library
from bgmatch.engine.library import facade as facade_module

VIDEO = "assets/demo/video.mp4"


@pytest.fixture(scope="module")
def demo_library(tmp_path_factory, demo_music):
    folder = tmp_path_factory.mktemp("demo-lib")
    with Library.open(folder) as lib:
        report = lib.add(demo_music)
        assert not report.failed
    return folder


def test_search_ranks_by_text_and_names_the_matched_tags(demo_library):
    with Library.open(demo_library) as lib:
        hits = lib.search("epic orchestral", top=5)
        assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
        assert hits[0].matched and hits[0].matched[0][0] in {"epic", "orchestral", "orchestra", "classical"}
        assert hits[0].track.tags and hits[0].track.title
        every = lib.search("epic orchestral", top=100)
        assert len(every) == len(lib)
        other = lib.search("electronic", top=100)
        assert [h.track.track_id for h in other] != [h.track.track_id for h in every]
        # "relaxing" is no tag name: it reaches tags through the text space
        assert lib.search("relaxing", top=3)[0].matched


def test_bad_text_is_refused(demo_library):
    with Library.open(demo_library) as lib:
        with pytest.raises(ConfigError, match="empty"):
            lib.search("   ")
        with pytest.raises(NoTextMatchError, match="matches none"):
            lib.search("my grandmother's recipe for soup")
        with pytest.raises(ConfigError, match="text weight"):
            lib.suggest(lib.query(VIDEO), text="piano", text_weight=1.5)


def test_search_without_tags_says_so(tmp_path, demo_music):
    with Library.open(tmp_path / "lib") as lib:
        lib.set_tagging(False)
        lib.add(demo_music[:2])
        with pytest.raises(LibraryError, match="no track .* has tags"):
            lib.search("piano")


def test_text_weight_blends_without_decoding_the_video_again(demo_library, monkeypatch):
    with Library.open(demo_library) as lib:
        query = lib.query(VIDEO)

        def no_decode(*a, **k):
            raise AssertionError("the video was decoded again")

        monkeypatch.setattr(facade_module.media, "decode_frames", no_decode)
        plain = lib.suggest(query, top=24)
        zero = lib.suggest(query, top=24, text="calm piano", text_weight=0.0)
        assert [(s.track_id, s.score, s.offset_s) for s in zero] == [(s.track_id, s.score, s.offset_s) for s in plain]
        text_only = lib.suggest(query, top=24, text="calm piano", text_weight=1.0)
        words = {h.track.track_id: h.score for h in lib.search("calm piano", top=100)}
        assert [s.track_id for s in text_only] == sorted(words, key=lambda t: -words[t])
        assert all("text" in s.parts and "video" in s.parts for s in text_only)
        half = lib.suggest(query, top=24, text="calm piano", text_weight=0.5)
        video = np.array([s.parts["video"] for s in half])
        text = np.array([s.parts["text"] for s in half])
        expect = 0.5 * (video - video.mean()) / video.std() + 0.5 * (text - text.mean()) / text.std()
        np.testing.assert_allclose([s.score for s in half], expect, atol=1e-9)
        assert [s.score for s in half] == sorted((s.score for s in half), reverse=True)
        assert half[0].tags and plain[0].tags  # suggestions carry their top tags
