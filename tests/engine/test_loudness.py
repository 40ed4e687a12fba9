"""Loudness normalisation on real music: BS.1770 integrated loudness on target, true peak under the ceiling."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.errors import BgmatchError
from bgmatch.engine.output.fit_render import write_wav
from bgmatch.engine.output.loudness import integrated_lufs, normalize, true_peak_dbtp

SR = 48000


@pytest.fixture(scope="module")
def excerpts(demo_music, music_files):
    """20 s of a quiet, a loud and a real-media track (stereo, 48 kHz)."""
    by_name = {p.name: p for p in [*demo_music, *music_files]}
    return {n: media.decode_audio(by_name[n], sr_hz=SR, offset_s=20.0, max_duration_s=20.0, stereo=True)
            for n in ("nebula.opus", "battle.opus", "battle-epic.ogg")}


@pytest.mark.parametrize("target", [-14.0, -23.0])
def test_written_music_measures_the_target_loudness(tmp_path, excerpts, target):
    for name, audio in excerpts.items():
        out, report = normalize(audio, sr_hz=SR, target_lufs=target)
        path = write_wav(out, tmp_path / f"{name}.wav", sr_hz=SR)
        measured = integrated_lufs(media.decode_audio(path, sr_hz=SR, stereo=True), sr_hz=SR)
        print(f"{name}: {report.input_lufs:.2f} LUFS -> {measured:.2f} LUFS (target {target}), "
              f"true peak {report.true_peak_dbtp:.2f} dBTP")
        assert abs(measured - target) < 0.5
        assert abs(report.output_lufs - measured) < 0.05
        assert report.true_peak_dbtp <= -1.0 + 0.05
        assert true_peak_dbtp(out) == pytest.approx(report.true_peak_dbtp)
        # The music itself is unchanged but for level: most samples keep the plain gain.
        gain = 10 ** (report.gain_db / 20)
        assert np.median(np.abs(out - audio * gain)) < 1e-3


def test_silence_and_too_short_audio(excerpts):
    silence = np.zeros((2, SR * 2), np.float32)
    out, report = normalize(silence, sr_hz=SR)
    assert not out.any() and report.output_lufs == -np.inf
    with pytest.raises(BgmatchError, match="too short to measure"):
        normalize(excerpts["nebula.opus"][:, :1000], sr_hz=SR)
    with pytest.raises(BgmatchError, match="outside"):
        normalize(excerpts["nebula.opus"], sr_hz=SR, target_lufs=5.0)
