"""The Library facade on real music: adding, skipping unchanged files, bad inputs, suggesting."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bgmatch.engine.library import facade as library_module
from bgmatch.engine.errors import LibraryError, MediaError
from bgmatch.engine.library import Library
from bgmatch.engine.library.walk import iter_media_files


@pytest.fixture()
def small_music(tmp_path, music_files) -> Path:
    """Three real tracks copied into a folder, with a nested subfolder."""
    folder = tmp_path / "music"
    (folder / "sub").mkdir(parents=True)
    for i, src in enumerate(music_files[:3]):
        dest = folder / ("sub" if i == 2 else "") / src.name
        shutil.copy(src, dest)
    return folder


def test_add_then_readd_does_no_decoding(tmp_path, small_music, monkeypatch):
    with Library.open(tmp_path / "lib") as lib:
        seen = []
        report = lib.add([small_music], progress=lambda d, t, p: seen.append((d, t)))
        assert len(report.added) == 3 and not report.failed and len(lib) == 3
        assert seen[-1] == (3, 3)
        titles = {t.title for t in lib.tracks()}
        assert len(titles) == 3 and all(t.tempo_bpm > 0 for t in lib.tracks())

        def no_decode(*a, **k):
            raise AssertionError("an unchanged file was decoded again")

        monkeypatch.setattr(library_module.media, "decode_audio", no_decode)
        again = lib.add([small_music])
        assert len(again.unchanged) == 3 and not again.added
        # A copy of a known file under a new name: hashed, not decoded.
        shutil.copy(next(small_music.glob("*.ogg")), small_music / "copy.ogg")
        copy = lib.add([small_music / "copy.ogg"])
        assert copy.unchanged == [str((small_music / "copy.ogg").absolute())] and len(lib) == 3


def test_changed_file_is_analysed_again(tmp_path, small_music, music_files):
    target = next(small_music.glob("*.ogg"))
    with Library.open(tmp_path / "lib") as lib:
        lib.add([target])
        gen = lib.store.generation
        shutil.copy(music_files[5], target)  # new content at the same path
        os.utime(target, ns=(1, 1))
        report = lib.add([target])
        assert report.added == [str(target.absolute())]
        assert lib.store.generation == gen + 1 and len(lib) == 2


def test_bad_files_are_reported_and_the_batch_goes_on(tmp_path, small_music, footage_dir):
    (small_music / "notes.ogg").write_text("not audio")
    (small_music / "empty.mp3").touch()
    shutil.copy(footage_dir / "bikes.mp4", small_music / "silent.m4a")  # video without audio
    (small_music / "loop").symlink_to(small_music, target_is_directory=True)
    with Library.open(tmp_path / "lib") as lib:
        report = lib.add([small_music, tmp_path / "missing.ogg"])
    assert len(report.added) == 3
    failed = dict(report.failed)
    assert set(Path(p).name for p in failed) == {"notes.ogg", "empty.mp3", "silent.m4a", "missing.ogg"}
    for path, message in failed.items():
        assert path in message and "\n" not in message
    assert "no audio track" in failed[str(small_music / "silent.m4a")]


def test_iter_media_files_skips_symlink_loops_and_reports_unreadable(tmp_path, small_music):
    (small_music / "loop").symlink_to(small_music, target_is_directory=True)
    locked = small_music / "locked"
    locked.mkdir()
    (locked / "x.ogg").touch()
    locked.chmod(0)
    try:
        errors: list = []
        files = list(iter_media_files([small_music], errors=errors))
        if os.geteuid() != 0:  # root reads anything
            assert any("locked" in p for p, _ in errors)
        assert len([f for f in files if "loop" in f.parts]) == 0
        assert len(files) >= 3
    finally:
        locked.chmod(0o755)


def test_suggest_ranks_every_track_with_offsets(tmp_path, small_music, footage_dir):
    with Library.open(tmp_path / "lib") as lib:
        with pytest.raises(LibraryError, match="no tracks"):
            lib.suggest(footage_dir / "bikes.mp4")
        lib.add([small_music])
        out = lib.suggest(footage_dir / "bikes.mp4", top=10)
        assert [s.rank for s in out] == [1, 2, 3]
        assert out[0].score >= out[1].score >= out[2].score
        for s in out:
            assert 0 <= s.offset_s <= s.duration_s - 10.0 + 0.05
            assert set(s.parts) == {"beat", "onset", "energy", "bar"} and Path(s.path).exists()
        with pytest.raises(MediaError, match="no video track"):
            lib.suggest(next(small_music.glob("*.ogg")))
        # The index was saved beside the store and is reused by a second process.
        assert (lib.folder / "index.npz").exists()
    with Library.open(tmp_path / "lib", create=False) as again:
        assert again.index().generation == again.store.generation


def test_open_errors(tmp_path):
    with pytest.raises(LibraryError, match="no library here"):
        Library.open(tmp_path / "nope", create=False)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(LibraryError, match="not a folder"):
        Library.open(f)


def test_recall_stage_path_returns_ranked_candidates(tmp_path, small_music, footage_dir):
    """With exact re-ranking switched off, candidates come from the faiss window index."""
    from bgmatch.engine.library import LibraryConfig
    from bgmatch.engine.library.retrieval import RetrievalConfig

    exact = Library.open(tmp_path / "lib")
    exact.add([small_music])
    want = [s.track_id for s in exact.suggest(footage_dir / "bikes.mp4", top=3)]
    exact.close()
    config = LibraryConfig(retrieval=RetrievalConfig(exact_below_tracks=0, candidate_tracks=3))
    with Library.open(tmp_path / "lib", config=config) as lib:
        got = [s.track_id for s in lib.suggest(footage_dir / "bikes.mp4", top=3)]
    assert got == want  # every track recalled, so the same order
