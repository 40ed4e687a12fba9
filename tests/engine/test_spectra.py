"""analysis.spectra against librosa's own functions on real music, and the default analysis
keeping librosa's numba-compiling modules unloaded."""
from __future__ import annotations

import os
import subprocess
import sys

import librosa
import numpy as np
import pytest

from bgmatch.engine.analysis import media, spectra

SR = 22050


@pytest.fixture(scope="module")
def music(music_files) -> np.ndarray:
    return media.decode_audio(music_files[3], sr_hz=SR, max_duration_s=25.0)


def close(ours: np.ndarray, theirs: np.ndarray, *, rel: float) -> None:
    """Same shape, and at most ``rel`` of the reference's largest magnitude apart anywhere."""
    assert ours.shape == theirs.shape
    if theirs.size == 0:
        return
    scale = float(np.abs(theirs).max()) or 1.0
    assert float(np.abs(ours - theirs).max()) <= rel * scale


@pytest.mark.parametrize("sr_hz, n_fft, n_mels", [(22050, 2048, 128), (16000, 512, 96), (16000, 1024, 128), (16000, 512, 80)])
def test_filter_banks_match_librosa(sr_hz, n_fft, n_mels):
    close(spectra.mel_filters(sr_hz, n_fft, n_mels), librosa.filters.mel(sr=sr_hz, n_fft=n_fft, n_mels=n_mels), rel=1e-6)
    close(spectra.chroma_filters(sr_hz, n_fft), librosa.filters.chroma(sr=sr_hz, n_fft=n_fft, tuning=0.0), rel=1e-6)


def test_power_mel_and_decibels_match_librosa(music):
    power = spectra.power_spectrogram(music, hop_length=512)
    ref = np.abs(librosa.stft(music, n_fft=2048, hop_length=512)) ** 2
    close(power, ref, rel=1e-5)
    mel_ref = librosa.feature.melspectrogram(S=ref, sr=SR)
    close(spectra.mel_power(power, sr_hz=SR), mel_ref, rel=1e-5)
    db = spectra.power_to_db(spectra.mel_power(power, sr_hz=SR))
    db_ref = librosa.power_to_db(mel_ref)
    assert np.abs(db - db_ref).max() < 0.05  # dB; float32 against float64 spectra in quiet bins
    assert db.max() - db.min() == pytest.approx(80.0)  # floored 80 dB below the peak


def test_onsets_energy_chroma_and_mfcc_match_librosa(music):
    power = np.abs(librosa.stft(music, n_fft=2048, hop_length=512)) ** 2
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=SR))
    close(spectra.onset_strength(mel_db, hop_length=512), librosa.onset.onset_strength(S=mel_db, sr=SR), rel=1e-5)
    close(spectra.rms(music, hop_length=512), librosa.feature.rms(y=music, hop_length=512)[0], rel=1e-5)
    close(spectra.chroma(power, sr_hz=SR), librosa.feature.chroma_stft(S=power, sr=SR, tuning=0.0), rel=1e-5)
    close(spectra.mfcc(mel_db, n_mfcc=13), librosa.feature.mfcc(S=mel_db, n_mfcc=13), rel=1e-5)


def test_sync_frames_and_resampling_match_librosa(music):
    data = np.random.default_rng(0).normal(size=(5, 400))
    for frames in ([0, 10, 10, 57, 399], [3, 200], [], [400, 12]):
        close(spectra.sync_mean(data, np.asarray(frames, int)),
              librosa.util.sync(data, np.asarray(frames, int), aggregate=np.mean, pad=True), rel=1e-12)
    times = librosa.frames_to_time(np.arange(2000), sr=SR, hop_length=512)
    assert (spectra.time_to_frames(times, sr_hz=SR, hop_length=512) == np.arange(2000)).all()
    for target in (16000, 44100):
        ours = spectra.resample(music, orig_sr=SR, target_sr=target)
        close(ours, librosa.resample(music, orig_sr=SR, target_sr=target), rel=1e-6)
    assert spectra.resample(music, orig_sr=SR, target_sr=SR) is not None


def test_a_track_is_analysed_without_librosas_compiled_modules(music_files, tmp_path):
    """The analysis on the neural tracker's beats never imports the librosa modules that compile numba code on
    a fresh installation (core.audio, core.pitch, feature, onset, beat, util.utils)."""
    script = (
        "import sys\n"
        "from bgmatch.engine.analysis import media\n"
        "from bgmatch.engine.analysis.rhythm import RhythmConfig, analyze_music\n"
        f"y = media.decode_audio({str(music_files[0])!r}, sr_hz=22050, max_duration_s=20.0)\n"
        "a = analyze_music(y, sr_hz=22050, config=RhythmConfig(beats='neural'))\n"
        "assert len(a.beat_times_s) > 10, a\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('librosa.core.audio', 'librosa.core.pitch',\n"
        "    'librosa.core.spectrum', 'librosa.feature', 'librosa.onset', 'librosa.beat', 'librosa.util.utils')))\n"
        "print('LOADED', bad)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "LOADED []" in out.stdout
