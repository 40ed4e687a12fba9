"""library.json: a library records its settings and the versions of what it stores, and a
settings change redoes only the stored data it affects."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.rhythm import RhythmConfig
from bgmatch.engine.errors import LibraryError
from bgmatch.engine.learned.bundle import ModelBundle
from bgmatch.engine.library import Library, LibraryConfig
from bgmatch.engine.library.retrieval import FusionConfig
from bgmatch.engine.library.settings import SETTINGS_FILE, embedding_key


@pytest.fixture()
def two_tracks(tmp_path, demo_music):
    folder = tmp_path / "music"
    folder.mkdir()
    for src in demo_music[:2]:
        shutil.copy(src, folder / src.name)
    return folder


def test_a_library_records_its_settings_and_reopens_with_them(tmp_path, two_tracks):
    config = LibraryConfig(max_track_s=30.0, fusion=FusionConfig(candidates=7))
    with Library.open(tmp_path / "lib", config=config) as lib:
        lib.add([two_tracks])
    record = json.loads((tmp_path / "lib" / SETTINGS_FILE).read_text())
    assert record["format"] == "bgmatch-library"
    assert record["settings"]["max_track_s"] == 30.0 and record["settings"]["fusion"]["candidates"] == 7
    assert record["versions"]["analysis"] >= 1 and record["versions"]["analysis_settings"]
    with Library.open(tmp_path / "lib") as again:  # no config given: the recorded one
        assert again.config == config


def test_libraries_recorded_before_version_3_move_to_neural_beats(tmp_path):
    from bgmatch.engine.library.settings import read_settings, settings_record

    old = settings_record(LibraryConfig(rhythm=RhythmConfig(beats="librosa"), max_track_s=60.0))
    old["versions"]["analysis"] = 2  # librosa's beats were every library's default then
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(old))
    moved = read_settings(tmp_path)
    assert moved.rhythm.beats == "neural" and moved.max_track_s == 60.0
    chosen = settings_record(LibraryConfig(rhythm=RhythmConfig(beats="librosa")))  # chosen since: kept
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(chosen))
    assert read_settings(tmp_path).rhythm.beats == "librosa"


def test_a_damaged_settings_file_is_named(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / SETTINGS_FILE).write_text('{"format": "bgmatch-library", "settings": {"max_track_z": 1}}')
    with pytest.raises(LibraryError, match=r"library.json: .*max_track_z"):
        Library.open(tmp_path / "lib")


def test_changed_rhythm_settings_reanalyse_and_unchanged_ones_do_not(tmp_path, two_tracks, monkeypatch):
    with Library.open(tmp_path / "lib") as lib:
        assert len(lib.add([two_tracks]).added) == 2
    decoded = []
    real = media.decode_audio
    monkeypatch.setattr(media, "decode_audio", lambda *a, **k: decoded.append(a[0]) or real(*a, **k))
    with Library.open(tmp_path / "lib") as lib:
        assert len(lib.add([two_tracks]).unchanged) == 2 and decoded == []
    changed = LibraryConfig(rhythm=dataclasses.replace(RhythmConfig(), hop_length=256))
    with Library.open(tmp_path / "lib", config=changed) as lib:
        report = lib.add([two_tracks])
        assert len(report.added) == 2 and len(decoded) == 2  # analysed again under the new settings


def test_the_embedding_hop_is_part_of_the_stored_version(tmp_path, two_tracks, tiny_bundle_dir):
    bundle = ModelBundle.load(tiny_bundle_dir, device="cpu")
    with Library.open(tmp_path / "lib") as lib:
        lib.set_model(bundle)
        lib.add([two_tracks])
        assert lib.missing_embeddings() == []
    assert embedding_key(bundle.music_version, bundle.features.clip_s, bundle.features.clip_s) == bundle.music_version
    finer = LibraryConfig(fusion=FusionConfig(music_hop_s=1.0))
    with Library.open(tmp_path / "lib", config=finer) as lib:
        lib.set_model(bundle)
        assert len(lib.missing_embeddings()) == 2  # another hop: embedded again, the old ones kept
        lib.embed()
        key = embedding_key(bundle.music_version, 1.0, bundle.features.clip_s)
        stored = lib.store.get_embedding(key, lib.store.track_ids()[0])
        assert stored["starts_s"][1] - stored["starts_s"][0] == pytest.approx(1.0)
        assert len(lib.store.embedded_ids(bundle.music_version)) == 2


def test_new_downbeat_weights_change_the_analysis_fingerprint(tmp_path, monkeypatch):
    """Stored bars come from the shipped downbeat weights: other weights must re-analyse."""
    import bgmatch.assets
    from bgmatch.engine.library.settings import LibraryConfig, analysis_settings

    shipped = analysis_settings(LibraryConfig())
    other = tmp_path / "beatnet.pt"
    other.write_bytes(b"other weights")
    monkeypatch.setattr(bgmatch.assets, "asset_path", lambda *parts: other)
    assert analysis_settings(LibraryConfig()) != shipped
    missing = tmp_path / "gone.pt"
    monkeypatch.setattr(bgmatch.assets, "asset_path", lambda *parts: missing)
    without = analysis_settings(LibraryConfig())
    assert without not in (shipped, analysis_settings(LibraryConfig(max_track_s=60.0)))
