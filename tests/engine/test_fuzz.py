"""Property-based fuzzing of the media probe and decoders, and of the store's record parser.

Bounded (a fixed number of examples per property) so CI time stays small. Whatever the bytes,
the only outcomes allowed are a result or the documented error.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgmatch.engine.analysis import media
from bgmatch.engine.library.arrays import pack, unpack
from bgmatch.engine.errors import MediaError

#: Examples per property: small in CI; raise BGMATCH_FUZZ_EXAMPLES for a long local campaign.
FUZZ = settings(max_examples=int(os.environ.get("BGMATCH_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _decode_all(path: Path) -> None:
    """Probe and decode; a result must be well-formed, a failure must be a MediaError."""
    try:
        info = media.probe(path)
    except MediaError as exc:
        assert str(path) in str(exc)
        return
    assert info.duration_s >= 0
    for decode in (lambda: media.decode_audio(path, sr_hz=8000, max_duration_s=5.0),
                   lambda: media.decode_frames(path, fps=5.0, width_px=32, max_duration_s=5.0)):
        try:
            out = decode()
        except MediaError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            continue
        arr = out if isinstance(out, np.ndarray) else out.frames
        assert arr.size > 0 and np.all(np.isfinite(arr.astype(np.float32)))


@FUZZ
@given(data=st.binary(min_size=0, max_size=2048))
def test_random_bytes(tmp_path, data):
    path = tmp_path / "fuzz.mp4"
    path.write_bytes(data)
    _decode_all(path)


@pytest.fixture(scope="module")
def seeds(music_files, footage_dir) -> dict[str, bytes]:
    return {
        ".ogg": music_files[0].read_bytes()[:96_000],
        ".mp4": (footage_dir / "bikes.mp4").read_bytes(),
        ".avi": (footage_dir / "tree.avi").read_bytes()[:200_000],
    }


@FUZZ
@given(kind=st.sampled_from([".ogg", ".mp4", ".avi"]),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=24),
       cut=st.floats(0.05, 1.0))
def test_mutated_real_media(tmp_path, seeds, kind, flips, cut):
    data = bytearray(seeds[kind])
    data = data[: max(16, int(len(data) * cut))]
    for where, value in flips:
        data[int(where * len(data))] = value
    path = tmp_path / f"mutant{kind}"
    path.write_bytes(bytes(data))
    _decode_all(path)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_record_parser_rejects_garbage_with_known_errors(data):
    try:
        unpack(data)
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # FeatureStore turns exactly these into "record … is corrupt"


@FUZZ
@given(cut=st.integers(0, 2000), flip=st.integers(0, 2000))
def test_record_parser_on_damaged_records(cut, flip):
    good = bytearray(pack({"x": np.arange(64, dtype=np.float32)}, {"title": "t"}))
    good[flip % len(good)] ^= 0xFF
    try:
        arrays, meta = unpack(bytes(good[: len(good) - cut % len(good)]))
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile):
        return
    assert isinstance(meta, dict) and all(isinstance(v, np.ndarray) for v in arrays.values())


def test_regression_avi_header_without_codec(tmp_path, footage_dir):
    """Found by test_mutated_real_media: a zeroed byte in a cut AVI header left a stream with no
    decoder, and probe crashed with AttributeError instead of a MediaError."""
    data = bytearray((footage_dir / "tree.avi").read_bytes()[:200_000])
    data = data[: int(len(data) * 0.05)]
    data[int(0.019092005600458428 * len(data))] = 0
    path = tmp_path / "mutant.avi"
    path.write_bytes(bytes(data))
    with pytest.raises(MediaError, match="no decodable audio or video stream"):
        media.probe(path)
    _decode_all(path)
