"""Decoding real media with PyAV, and one clear error per bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bgmatch.engine import media
from bgmatch.engine.errors import MediaError


def test_probe_real_audio_and_video(music_files, footage_dir):
    info = media.probe(music_files[0])
    assert info.has_audio and not info.has_video
    assert 30 < info.duration_s < 900
    v = media.probe(footage_dir / "bikes.mp4")
    assert v.has_video and (v.width, v.height) == (640, 272)
    assert v.duration_s == pytest.approx(10.0, abs=0.1)


def test_decode_audio_length_rate_and_offset(music_files):
    path = music_files[1]
    full = media.decode_audio(path, sr_hz=16000, max_duration_s=20.0)
    assert full.dtype == np.float32 and full.ndim == 1
    assert len(full) == 20 * 16000
    assert 0.01 < np.abs(full).max() <= 1.0
    part = media.decode_audio(path, sr_hz=16000, offset_s=5.0, max_duration_s=5.0)
    assert len(part) == 5 * 16000
    # The same signal as the slice of the full decode; the resampler restarts after the seek,
    # so samples differ a little at 16 kHz …
    a, b = full[5 * 16000 + 800: 10 * 16000 - 800], part[800:-800]
    assert np.corrcoef(a, b)[0, 1] > 0.97
    # … and are identical at the file's own rate.
    rate = media.probe(path).audio_rate_hz
    full_native = media.decode_audio(path, sr_hz=rate, max_duration_s=10.0)
    part_native = media.decode_audio(path, sr_hz=rate, offset_s=5.0, max_duration_s=5.0)
    np.testing.assert_allclose(part_native[100:-100], full_native[5 * rate + 100: 10 * rate - 100], atol=1e-6)
    stereo = media.decode_audio(path, sr_hz=16000, max_duration_s=2.0, stereo=True)
    assert stereo.shape == (2, 32000)


def test_decode_frames_rate_and_size(footage_dir):
    fr = media.decode_frames(footage_dir / "bikes.mp4", fps=10.0, width_px=128)
    assert fr.frames.dtype == np.uint8 and fr.frames.shape[1:] == (54, 128)
    assert len(fr.frames) == pytest.approx(100, abs=2)  # 10 s at 10 fps
    assert np.allclose(np.diff(fr.times_s), 0.1, atol=0.02)
    assert fr.duration_s == pytest.approx(10.0, abs=0.1)
    assert fr.frames.std() > 10  # a real picture, not a blank


def _bad(tmp_path: Path, footage_dir: Path, music_files: list[Path]) -> dict[str, tuple[Path, str]]:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n")
    empty = tmp_path / "empty.ogg"
    empty.touch()
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    return {
        "missing": (tmp_path / "missing.mp4", "no such file"),
        "text": (text, "not a readable media file"),
        "empty": (empty, "empty"),
        "folder": (folder, "folder"),
    }


@pytest.mark.parametrize("case", ["missing", "text", "empty", "folder"])
def test_bad_files_raise_one_clear_error(case, tmp_path, footage_dir, music_files):
    path, reason = _bad(tmp_path, footage_dir, music_files)[case]
    for fn in (media.probe, media.decode_audio, media.decode_frames):
        with pytest.raises(MediaError) as err:
            fn(path)
        message = str(err.value)
        assert str(path) in message and reason in message and "\n" not in message


def test_missing_streams_are_named(footage_dir, music_files):
    with pytest.raises(MediaError, match="no audio track"):
        media.decode_audio(footage_dir / "bikes.mp4")
    with pytest.raises(MediaError, match="no video track"):
        media.decode_frames(music_files[0])


def test_truncated_audio_keeps_what_decodes(tmp_path, music_files):
    src = music_files[0].read_bytes()
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(src[: len(src) // 3])
    y = media.decode_audio(cut, sr_hz=8000)
    full = media.probe(music_files[0]).duration_s
    assert 0.2 * full < len(y) / 8000 < 0.5 * full
