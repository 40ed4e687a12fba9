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


def _rotated_copy(src: Path, dest: Path) -> Path:
    """A copy of an MP4 whose track matrix says "display turned 90° clockwise" (phone portrait)."""
    import struct

    data = bytearray(src.read_bytes())
    identity = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    at = data.find(identity, data.find(b"tkhd"))
    assert at > 0
    data[at:at + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    dest.write_bytes(bytes(data))
    return dest


def test_rotated_video_is_analysed_upright_and_exported_rotated(tmp_path, footage_dir, music_files):
    import cv2

    from bgmatch.engine.export import export

    src = footage_dir / "bikes.mp4"
    rotated = _rotated_copy(src, tmp_path / "portrait.mp4")
    upright = media.decode_frames(rotated, fps=5, width_px=68)
    plain = media.decode_frames(src, fps=5, width_px=160)
    assert upright.frames.shape[1:] == (160, 68) and upright.rotation_deg == 270
    # OpenCV's FFmpeg backend shows this file turned clockwise: so do we.
    cap = cv2.VideoCapture(str(rotated))
    ok, first = cap.read()
    assert ok and first.shape[:2] == (640, 272)
    want = cv2.resize(cv2.cvtColor(first, cv2.COLOR_BGR2GRAY), (68, 160), interpolation=cv2.INTER_AREA)
    got = upright.frames[0].astype(float)
    assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.98  # luma vs RGB gray: same picture
    assert np.corrcoef(got[::-1, ::-1].ravel(), want.ravel())[0, 1] < 0.9  # not turned the other way
    assert plain.frames.shape[1:] == (68, 160)
    out = export(rotated, music_files[0], offset_s=0.0, out_path=tmp_path / "out.mp4")
    assert media.display_rotation(out) == media.display_rotation(rotated) == -90.0


def test_variable_frame_rate_keeps_true_times(tmp_path):
    from fractions import Fraction

    import av

    rng = np.random.default_rng(0)
    path = tmp_path / "vfr.mp4"
    pts, times = 0, []
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        for i in range(60):
            img = np.full((240, 320, 3), (i * 37) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            times.append(pts / 1000)
            pts += int(rng.choice([20, 33, 50, 100]))
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    fr = media.decode_frames(path, fps=100.0)  # keep every frame
    np.testing.assert_allclose(fr.times_s, np.asarray(times) - times[0], atol=1e-3)
