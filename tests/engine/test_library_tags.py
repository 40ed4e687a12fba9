"""Tags in the library on real demo music: stored at add, added later to untagged libraries,
resumable, shown with the file's own metadata; a missing tagger falls back to no tags."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from bgmatch.engine.learned.tagger import indexing_clip_budget
from bgmatch.engine.library import Library
from bgmatch.engine.library import tags as tags_module


@pytest.fixture()
def four_tracks(tmp_path, demo_music):
    folder = tmp_path / "music"
    folder.mkdir()
    picked = [p for p in demo_music if p.stem in {"nebula", "battle", "elvish-theme", "underground"}]
    for src in picked:
        shutil.copy(src, folder / src.name)
    return folder


def test_add_stores_tags_per_track_and_clip_with_metadata(tmp_path, four_tracks):
    with Library.open(tmp_path / "lib") as lib:
        report = lib.add([four_tracks])
        assert len(report.added) == 4 and not report.failed
        assert lib.missing_tags() == []
        infos = {t.path.rsplit("/", 1)[-1]: t for t in lib.tracks()}
        nebula = infos["nebula.opus"]
        assert (nebula.title, nebula.artist) == ("Nebula", "Maxstack")  # the file's tags, not its name
        assert nebula.album.startswith("Endgame: Singularity")
        assert len(nebula.tags) == tags_module.TOP_TAGS
        probs = [p for _, p in nebula.tags]
        assert probs == sorted(probs, reverse=True) and all(0 < p < 1 for p in probs)
        stored = lib.track_tags(nebula.track_id)
        assert stored.clip_probs.shape == (len(stored.clip_starts_s), len(stored.tag_names))
        # the clips the indexing budget picks, and the track's tags are their mean
        assert len(stored.clip_starts_s) == indexing_clip_budget(
            nebula.duration_s, min_clips=tags_module.MIN_CLIPS) < nebula.duration_s / 3
        np.testing.assert_allclose(stored.track_probs, stored.clip_probs.mean(axis=0), atol=1e-6)
        # tags tell the tracks apart
        vectors = [lib.track_tags(i.track_id).track_probs for i in infos.values()]
        assert max(np.abs(vectors[0] - v).max() for v in vectors[1:]) > 0.05


def test_tag_fills_in_an_untagged_library_resumably(tmp_path, four_tracks):
    with Library.open(tmp_path / "lib") as lib:
        lib.set_tagging(False)
        lib.add([four_tracks])
        assert all(t.tags == () and t.artist is None for t in lib.tracks())
        lib.set_tagging(True)
        assert len(lib.missing_tags()) == 4
        calls = []
        first = lib.tag(cancel=lambda: len(calls) >= 2, progress=lambda d, t, m: calls.append(d))
        assert first.cancelled and len(first.tagged) == 2
        assert len(lib.missing_tags()) == 2  # the done ones are kept
        generation = lib.store.generation
        rest = lib.tag()
        assert len(rest.tagged) == 2 and not rest.failed and lib.missing_tags() == []
        assert lib.store.generation == generation  # tags do not touch the analyses or the index
        assert all(t.tags for t in lib.tracks())
        assert lib.tag().tagged == []


def test_missing_tagger_weights_fall_back_with_one_warning(tmp_path, four_tracks, monkeypatch):
    from bgmatch.engine.learned import tagger as tagger_module

    monkeypatch.setattr(tagger_module, "default_tagger_path", lambda kind: tmp_path / f"gone_{kind}.pt")
    monkeypatch.setattr(tags_module, "_warned_missing", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Library.open(tmp_path / "lib") as lib:
            report = lib.add([four_tracks])
            assert len(report.added) == 4 and not report.failed
            assert lib.missing_tags() == [] and lib.tag().tagged == []
            assert all(t.tags == () for t in lib.tracks())
        with Library.open(tmp_path / "lib2") as lib2:
            lib2.add([four_tracks])
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "gone_msd.pt" in messages[0] and "without tags" in messages[0]
