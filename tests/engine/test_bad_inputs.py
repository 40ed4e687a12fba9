"""Bad inputs each give one clear line naming the file and the reason; the batch goes on."""
from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from bgmatch.engine.errors import MediaError
from bgmatch.engine.library import Library
from bgmatch.engine.analysis.media import probe


def _write_video(path: Path, width: int, height: int, n_frames: int, codec: str = "libx264") -> Path:
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=25)
        s.width, s.height = width, height
        s.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        for i in range(n_frames):
            img = np.full((height, width, 3), 40 * i % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=s.pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


@pytest.fixture(scope="module")
def bad_videos(tmp_path_factory, footage_dir) -> dict[str, tuple[Path, str]]:
    d = tmp_path_factory.mktemp("bad")
    src = (footage_dir / "bikes.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(src[: len(src) // 2])  # moov atom at the end: unreadable
    (d / "header-only.mp4").write_bytes(src[:2000])
    (d / "zero.mp4").touch()
    (d / "text.mp4").write_text("not a video")
    (d / "dangling.mp4").symlink_to(d / "nowhere.mp4")
    (d / "afile").write_text("x")
    return {
        "truncated": (d / "truncated.mp4", "truncated"),
        "header-only": (d / "header-only.mp4", "truncated"),
        "zero": (d / "zero.mp4", "empty"),
        "text": (d / "text.mp4", "not a readable media file"),
        "dangling symlink": (d / "dangling.mp4", "no such file"),
        "path through a file": (d / "afile" / "x.mp4", "no such file"),
        "huge": (_write_video(d / "huge.avi", 12000, 6000, 2, codec="mjpeg"), "too large"),
        "one frame": (_write_video(d / "one.mp4", 320, 240, 1), "single frame"),
        "too short": (_write_video(d / "short.mp4", 320, 240, 5), "too short"),
        "audio only": (None, "no video track"),
    }


@pytest.fixture(scope="module")
def lib(tmp_path_factory, music_files):
    with Library.open(tmp_path_factory.mktemp("lib")) as library:
        library.add(music_files[:2])
        yield library


@pytest.mark.parametrize("case", ["truncated", "header-only", "zero", "text", "dangling symlink",
                                  "path through a file", "huge", "one frame", "too short", "audio only"])
def test_suggest_on_bad_video(case, bad_videos, lib, music_files):
    path, reason = bad_videos[case]
    path = path or music_files[0]
    gen = lib.store.generation
    with pytest.raises(MediaError) as err:
        lib.suggest(path)
    message = str(err.value)
    assert message.startswith(str(path)) and reason in message and "\n" not in message, message
    assert lib.store.generation == gen and len(lib) == 2  # nothing else changed
    assert len(lib.suggest(Path(music_files[0]).parent.parent.parent / "footage" / "bikes.mp4", top=2)) == 2


def test_8k_video_gives_a_result(tmp_path, lib):
    video = _write_video(tmp_path / "8k.mp4", 7680, 4320, 30)
    out = lib.suggest(video, top=2)
    assert len(out) == 2 and all(np.isfinite(s.score) for s in out)


def test_bad_music_in_a_batch(tmp_path, music_files, footage_dir):
    d = tmp_path / "music"
    d.mkdir()
    for m in music_files[:2]:
        shutil.copy(m, d / m.name)
    src = music_files[2].read_bytes()
    (d / "truncated.ogg").write_bytes(src[: len(src) // 2])  # decodes what is there: a shorter track
    (d / "garbage.ogg").write_bytes(os.urandom(50_000))
    (d / "zero.flac").touch()
    (d / "video-only.mp3").write_bytes((footage_dir / "bikes.mp4").read_bytes())
    (d / "tiny.wav").write_bytes(b"RIFF")
    name = "caf\udce9.ogg"  # a file name that is not valid UTF-8
    os.rename(shutil.copy(music_files[3], d / "x.ogg"), os.path.join(os.fsencode(d), os.fsencode(name)))
    with Library.open(tmp_path / "lib") as lib:
        report = lib.add([d])
        failed = {Path(p).name: m for p, m in report.failed}
        assert set(failed) == {"garbage.ogg", "zero.flac", "video-only.mp3", "tiny.wav"}
        for message in failed.values():
            assert str(d) in message and "\n" not in message
        assert "no audio track" in failed["video-only.mp3"] and "empty" in failed["zero.flac"]
        assert len(report.added) == 4  # two good, the truncated one, the non-UTF-8 name
        short = [t for t in lib.tracks() if t.path.endswith("truncated.ogg")][0]
        assert 0.3 * probe(music_files[2]).duration_s < short.duration_s < 0.7 * probe(music_files[2]).duration_s


def test_wav_header_claiming_ten_hours(tmp_path, demo_music):
    """A header that promises 10 hours over 5 s of real music: indexed as the 5 s it holds."""
    import struct

    from bgmatch.engine.analysis.media import decode_audio

    sr = 22050
    y = decode_audio(demo_music[0], sr_hz=sr, max_duration_s=5.0)
    claimed = 10 * 3600 * sr * 2
    header = (b"RIFF" + struct.pack("<I", 36 + claimed) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, sr * 2, 2, 16)
              + b"data" + struct.pack("<I", claimed))
    path = tmp_path / "ten-hours.wav"
    path.write_bytes(header + (y * 20000).astype("<i2").tobytes())
    with Library.open(tmp_path / "lib") as lib:
        report = lib.add([path])
        assert report.added and not report.failed
        assert lib.tracks()[0].duration_s == pytest.approx(5.0, abs=0.05)
