"""A file's own tags, from real Ogg Vorbis and Opus files."""
from __future__ import annotations

import pytest

from bgmatch.engine.analysis.metadata import TrackMetadata, read_metadata
from bgmatch.engine.errors import MediaError


def test_upper_case_vorbis_comments(media_root):
    meta = read_metadata(media_root / "music" / "wesnoth-1.16-music" / "knolls.ogg")
    assert meta == TrackMetadata(title="The Knolls of Doldesh", artist="Timothy Pinkham",
                                 album="The Battle for Wesnoth OST", genre="Romantic Classical", date="2006")


def test_mixed_case_keys(media_root):
    meta = read_metadata(media_root / "music" / "wesnoth-1.16-music" / "victory2.ogg")  # "Title", "Genre", …
    assert (meta.title, meta.artist, meta.genre) == ("Victory", "Ryan Reilly", "Romantic Classical")


def test_opus_excerpt_and_a_file_without_tags(demo_music, media_root):
    nebula = read_metadata(next(p for p in demo_music if p.stem == "nebula"))
    assert nebula.title == "Nebula" and nebula.artist == "Maxstack" and nebula.genre is None
    assert nebula.as_dict()["album"].startswith("Endgame: Singularity")
    assert read_metadata(media_root / "music" / "wesnoth-1.16-music" / "silence.ogg") == TrackMetadata()


def test_unreadable_file_names_the_file(tmp_path):
    bad = tmp_path / "broken.ogg"
    bad.write_bytes(b"OggS not really")
    with pytest.raises(MediaError, match="broken.ogg"):
        read_metadata(bad)
