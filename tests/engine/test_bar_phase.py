"""The bar phase from what changes on a downbeat: harmony and bass on rendered music, and the shift."""
from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from bgmatch.engine.analysis import beatnet, spectra
from bgmatch.engine.analysis.bar_phase import BarPhaseConfig, cue_spectra, downbeat_score, rephase
from bgmatch.engine.analysis.beats import track_beats
from bgmatch.engine.analysis.neural_grid import HOP_LENGTH, neural_activations

from .midi_piece import needs_fluidsynth, render_piece


def _phase_means(score: np.ndarray, meter: int) -> list[float]:
    return [float(score[k::meter].mean()) for k in range(meter)]


HARMONY_ONLY = BarPhaseConfig(activation_weight=0, bass_weight=0)
BASS_ONLY = BarPhaseConfig(activation_weight=0, harmony_weight=0)


@pytest.mark.parametrize(("bass_line", "cue"), [("roots", HARMONY_ONLY), ("whole", BASS_ONLY),
                                                ("roots", BarPhaseConfig()), ("whole", BarPhaseConfig())])
@needs_fluidsynth
def test_harmony_and_bass_mark_the_bar_when_no_beat_is_accented(tmp_path, bass_line, cue):
    """Every beat drummed alike: the chord change (bass on the root of each beat), or the bass that
    enters only on the downbeat, points at the true bar line."""
    y, beats, downbeats = render_piece(tmp_path, accents=False, bass_line=bass_line)
    chroma, mel_db = cue_spectra(spectra.power_spectrogram(y, hop_length=HOP_LENGTH), sr_hz=22050)
    activation = np.zeros(100)
    score = downbeat_score(beats, chroma=chroma, mel_db=mel_db, sr_hz=22050, hop_length=HOP_LENGTH, downbeat_activation=activation,
                           activation_rate_hz=beatnet.FPS_HZ, config=cue)
    assert score.shape == beats.shape and np.isfinite(score).all()
    means = _phase_means(score, 4)
    assert int(np.argmax(means)) == 0, means  # beats[0::4] are the downbeats
    # A grid decoded one beat late is put back on the bar lines.
    late = (np.arange(len(beats)) + 1) % 4 + 1
    assert np.array_equal(beats[rephase(late, 4, score) == 1], downbeats)


@needs_fluidsynth
def test_the_tracker_finds_the_bar_of_the_unaccented_piece(tmp_path):
    y, beats, downbeats = render_piece(tmp_path, accents=False)
    track = track_beats(y, sr_hz=22050)
    trim = mir_eval.beat.trim_beats
    assert float(mir_eval.beat.f_measure(trim(beats), trim(track.beat_times_s))) > 0.9
    found = mir_eval.beat.trim_beats(track.downbeat_times_s)
    # Every true downbeat is one of its downbeats (in bars of 4, or of 2 as the weights sometimes hear it).
    assert np.mean([np.abs(found - t).min() < 0.07 for t in mir_eval.beat.trim_beats(downbeats)]) >= 0.9
    assert neural_activations(y, sr_hz=22050) is not None


def test_rephase_shifts_only_whole_bars_and_keeps_ties():
    positions = np.tile([1, 2, 3, 4], 4)
    score = np.zeros(16)
    score[2::4] = 1.0  # the third beat of each decoded bar sounds like the downbeat
    shifted = rephase(positions, 4, score)
    assert np.flatnonzero(shifted == 1).tolist() == [2, 6, 10, 14]
    assert sorted(set(shifted.tolist())) == [1, 2, 3, 4] and np.array_equal(np.diff(shifted) % 4, np.ones(15) % 4)
    assert np.array_equal(rephase(positions, 4, np.zeros(16)), positions)  # ties: the decoder's phase
    assert np.array_equal(rephase(positions[:6], 4, score[:6]), positions[:6])  # under two bars: unchanged
    assert np.array_equal(rephase(np.ones(8, int), 1, np.arange(8.0)), np.ones(8, int))
    assert not BarPhaseConfig(0, 0, 0).active and BarPhaseConfig().active


def test_library_analysis_and_track_beats_hear_the_same_bars(demo_music):
    """Both paths re-phase the bars of a real track alike (a library stores what `analyze` prints)."""
    from bgmatch.engine.analysis.media import decode_audio
    from bgmatch.engine.analysis.rhythm import analyze_music
    from bgmatch.engine.analysis.neural_grid import decode_activations

    y = decode_audio(next(p for p in demo_music if p.stem == "battle"), sr_hz=22050, max_duration_s=30.0)
    track, music = track_beats(y, sr_hz=22050), analyze_music(y, sr_hz=22050)
    np.testing.assert_array_equal(track.beat_times_s, music.beat_times_s)
    np.testing.assert_array_equal(track.downbeat_times_s, music.downbeat_times_s)
    assert track.meter == music.meter and len(track.downbeat_times_s) >= 4
    decoder_only = decode_activations(neural_activations(y, sr_hz=22050))
    np.testing.assert_array_equal(decoder_only.beat_times_s, track.beat_times_s)  # only the phase may differ
    assert set(np.round(track.downbeat_times_s, 6)) <= set(np.round(track.beat_times_s, 6))


def test_cues_without_their_sample_rate_are_refused(demo_music):
    from bgmatch.engine.analysis.media import decode_audio
    from bgmatch.engine.analysis.neural_grid import decode_activations

    y = decode_audio(demo_music[0], sr_hz=22050, max_duration_s=8.0)
    cues = cue_spectra(spectra.power_spectrogram(y, hop_length=HOP_LENGTH), sr_hz=22050)
    with pytest.raises(ValueError, match="sample rate"):
        decode_activations(neural_activations(y, sr_hz=22050), cues=cues)
