"""Audio that FFmpeg refuses but libsndfile plays (an Ogg Vorbis stream repeating its headers)."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.analysis.metadata import read_metadata
from bgmatch.engine.errors import MediaError
from bgmatch.engine.library import Library

from .oggpages import repeat_vorbis_headers


@pytest.fixture()
def original(media_root: Path) -> Path:
    """A short real track with tags (8.5 s, Ogg Vorbis, 44.1 kHz stereo)."""
    return media_root / "music" / "wesnoth-1.16-music" / "defeat.ogg"


@pytest.fixture()
def refused(original: Path, tmp_path: Path) -> Path:
    path = repeat_vorbis_headers(original, tmp_path / "defeat-headers-twice.ogg")
    with pytest.raises(av.error.InvalidDataError):  # the case the fallback exists for
        av.open(str(path))
    return path


def test_probe_and_tags_come_from_libsndfile(original, refused):
    info, ref = media.probe(refused), media.probe(original)
    assert (info.has_audio, info.has_video, info.audio_rate_hz) == (True, False, 44100)
    assert info.duration_s == pytest.approx(ref.duration_s, abs=0.05)
    assert info.title == ref.title == "Defeat"
    assert read_metadata(refused) == read_metadata(original)


@pytest.mark.parametrize("stereo", [False, True])
def test_decoded_audio_matches_ffmpeg_on_the_intact_file(original, refused, stereo):
    got = media.decode_audio(refused, sr_hz=22050, offset_s=2.0, max_duration_s=4.0, stereo=stereo)
    ref = media.decode_audio(original, sr_hz=22050, offset_s=2.0, max_duration_s=4.0, stereo=stereo)
    assert got.dtype == np.float32 and got.shape == ref.shape == ((2, 88200) if stereo else (88200,))
    # Two decoders and two resamplers: the same music, sample for sample up to a small delay.
    corr = np.correlate(got.ravel(), ref.ravel(), mode="full")
    lag = int(np.argmax(corr)) - (got.size - 1)
    assert abs(lag) <= 64
    a, b = (got.ravel()[lag:], ref.ravel()[:ref.size - lag]) if lag >= 0 else (got.ravel()[:lag], ref.ravel()[-lag:])
    assert np.corrcoef(a, b)[0, 1] > 0.99
    whole = media.decode_audio(refused, sr_hz=8000)
    assert len(whole) == pytest.approx(8000 * media.probe(original).duration_s, abs=80)


def test_past_the_end_and_non_media_still_fail_clearly(refused, tmp_path):
    with pytest.raises(MediaError, match="no samples"):
        media.decode_audio(refused, offset_s=60.0)
    junk = tmp_path / "notes.ogg"
    junk.write_text("not audio at all\n" * 50)
    for read in (media.decode_audio, media.probe, read_metadata):
        with pytest.raises(MediaError, match=r"notes\.ogg: (not a readable media file|cannot)"):
            read(junk)


def test_library_indexes_the_file(refused, tmp_path):
    with Library.open(tmp_path / "lib") as library:
        library.set_tagging(False)
        report = library.add([refused])
        assert [Path(p).name for p in report.added] == [refused.name] and not report.failed
        (track,) = library.tracks()
        assert track.duration_s == pytest.approx(8.49, abs=0.05)
