"""Decoding real media with PyAV, and one clear error per bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.errors import MediaError
from bgmatch.engine.analysis.motion import MotionConfig, analyze_frames


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
    # bikes.mp4: 25 fps H.264 with B-frames, half of them non-reference frames the decoder skips.
    full = media.decode_frames(footage_dir / "bikes.mp4", fps=10.0, width_px=128, skip_unused=False)
    fr = media.decode_frames(footage_dir / "bikes.mp4", fps=10.0, width_px=128)
    assert full.skipped == () and fr.skipped == ("nonref",)
    for f in (fr, full):
        assert f.frames.dtype == np.uint8 and f.frames.shape[1:] == (54, 128)
        assert len(f.frames) == pytest.approx(100, abs=2)  # 10 s at 10 fps
        assert f.duration_s == pytest.approx(10.0, abs=0.1)
        assert f.frames.std() > 10  # a real picture, not a blank
        _assert_one_frame_per_slot(f.times_s, 0.1)


def _assert_one_frame_per_slot(times_s: np.ndarray, period_s: float) -> None:
    """A frame in every slot of the ``period_s`` grid, and only one."""
    np.testing.assert_array_equal(np.floor(times_s / period_s + 1e-3), np.arange(len(times_s)))


def _spliced(path: Path, footage_dir: Path, shots: list[tuple[str, int]], *, width: int, height: int,
             codec: str = "libx264", x264_params: str = "", container: str | None = None,
             intra_at_cuts: bool = True) -> np.ndarray:
    """Write real footage shots (file, frame count) back to back at 25 fps; the cut times (s).

    With ``intra_at_cuts`` the first frame of each shot is an intra frame, as most encoders
    make it; otherwise the encoder picks every frame's type.
    """
    from fractions import Fraction

    import av

    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "superfast", "crf": "23", "x264-params": x264_params}
        n, cuts = 0, []
        for name, count in shots:
            cuts.append(n / 25)
            with av.open(str(footage_dir / name)) as c:
                for i, frame in enumerate(c.decode(c.streams.video[0])):
                    if i == count:
                        break
                    f = frame.reformat(width=width, height=height, format=stream.pix_fmt)
                    f.pts, f.time_base = n, Fraction(1, 25)
                    intra = intra_at_cuts and i == 0
                    f.pict_type = av.video.frame.PictureType.I if intra else av.video.frame.PictureType.NONE
                    out.mux(stream.encode(f))
                    n += 1
        out.mux(stream.encode())
    return np.asarray(cuts[1:])


#: 25 fps, B-frames in a pyramid (every other frame a non-reference frame), as x264 writes them.
_PYRAMID = "bframes=3:b-adapt=0:b-pyramid=normal"


@pytest.fixture(scope="module")
def hd_video(tmp_path_factory, footage_dir) -> tuple[Path, np.ndarray]:
    """A 5 s 1280×720 H.264 clip of four real shots, and its three cut times (s)."""
    path = tmp_path_factory.mktemp("hd") / "shots.mp4"
    shots = [("bikes.mp4", 28), ("bigbuckbunny.mp4", 41), ("vtest.avi", 29), ("cup.mp4", 33)]
    return path, _spliced(path, footage_dir, shots, width=1280, height=720, x264_params=_PYRAMID)


@pytest.mark.parametrize("fps", [10.0, MotionConfig().fps])
def test_skipping_keeps_cut_times_on_hd_video(hd_video, fps):
    path, true_cuts = hd_video
    fast = media.decode_frames(path, fps=fps, width_px=160)
    full = media.decode_frames(path, fps=fps, width_px=160, skip_unused=False)
    assert fast.skipped == ("deblock", "nonref") and full.skipped == ()
    assert abs(len(fast.frames) - len(full.frames)) <= 1
    config = MotionConfig(fps=fps)
    cuts = [analyze_frames(f.frames, f.times_s, duration_s=f.duration_s, config=config).cut_times_s
            for f in (fast, full)]
    assert len(cuts[0]) == len(cuts[1]) == len(true_cuts)
    assert np.abs(cuts[0] - cuts[1]).max() <= 1 / fps + 1e-3  # within one analysis frame
    # Each shot's first frame is decoded (an intra frame) and takes its slot: cuts are exact.
    np.testing.assert_allclose(cuts[0], true_cuts, atol=1e-3)
    # Without the deblocking filter the small picture barely changes.
    same_t = np.intersect1d(np.round(fast.times_s, 3), np.round(full.times_s, 3))
    a = fast.frames[np.searchsorted(np.round(fast.times_s, 3), same_t)].astype(np.float32)
    b = full.frames[np.searchsorted(np.round(full.times_s, 3), same_t)].astype(np.float32)
    assert len(same_t) > len(full.frames) // 3 and np.abs(a - b).mean() < 1.5


def test_first_frame_of_a_shot_takes_its_slot(tmp_path, footage_dir):
    # Cuts on odd frames of a 25 fps video fall inside 12.5 fps slots; the encoder (ultrafast,
    # as the BeatCut queries) puts no intra frame there. The first frame of the new shot still
    # takes its slot, so the cut is found at its own time, not at the next slot's start.
    path = tmp_path / "v.mp4"
    shots = [("bikes.mp4", 27), ("cup.mp4", 31), ("bigbuckbunny.mp4", 29)]
    true_cuts = _spliced(path, footage_dir, shots, width=320, height=180, x264_params="bframes=0:scenecut=0",
                         intra_at_cuts=False)
    config = MotionConfig()
    fr = media.decode_frames(path, fps=config.fps, width_px=config.width_px)
    _assert_one_frame_per_slot(fr.times_s, 1 / config.fps)
    assert set(np.round(true_cuts, 3)) <= set(np.round(fr.times_s, 3))
    cuts = analyze_frames(fr.frames, fr.times_s, duration_s=fr.duration_s, config=config).cut_times_s
    np.testing.assert_allclose(cuts, true_cuts, atol=1e-3)


@pytest.mark.parametrize("case", ["b-frames without pyramid", "intra-only mjpeg", "raw h264 without times"])
def test_files_that_cannot_skip_decode_every_frame(tmp_path, footage_dir, case):
    codec, params, name, container = {
        "b-frames without pyramid": ("libx264", "bframes=3:b-adapt=0:b-pyramid=none", "v.mp4", None),
        "intra-only mjpeg": ("mjpeg", "", "v.avi", None),
        "raw h264 without times": ("libx264", _PYRAMID, "v.h264", "h264"),
    }[case]
    path = tmp_path / name
    _spliced(path, footage_dir, [("bikes.mp4", 28), ("cup.mp4", 30)], width=320, height=180, codec=codec,
             x264_params=params, container=container)
    fast = media.decode_frames(path, fps=10.0)
    full = media.decode_frames(path, fps=10.0, skip_unused=False)
    assert "nonref" not in fast.skipped or codec == "mjpeg"  # mjpeg has no frame to skip
    np.testing.assert_array_equal(fast.times_s, full.times_s)
    np.testing.assert_array_equal(fast.frames, full.frames)
    _assert_one_frame_per_slot(full.times_s, 0.1)


def test_stamps_written_in_decoding_order_are_put_in_display_order(footage_dir):
    import av
    import cv2

    # box.mp4's container stamps each frame with its decoding time (pts = dts) although it has
    # B-frames: the presentation stamps run backwards, so frames are timed by display order.
    path = footage_dir / "box.mp4"
    fr = media.decode_frames(path, fps=10.0)
    assert (np.diff(fr.times_s) > 0).all() and len(fr.frames) == pytest.approx(152, abs=2)
    index = np.round(fr.times_s * fr.source_fps).astype(int)  # the frame on screen at each time
    with av.open(str(path)) as c:
        shown = {i: cv2.resize(f.to_ndarray()[: f.height], (160, 120), interpolation=cv2.INTER_AREA)  # luma
                 for i, f in enumerate(c.decode(c.streams.video[0])) if i in set(index)}
    for small, i in zip(fr.frames, index):
        np.testing.assert_array_equal(small, shown[i])


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

    from bgmatch.engine.output.export import export

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
