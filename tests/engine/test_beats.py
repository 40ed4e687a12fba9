"""Beat and downbeat tracking: BeatNet's CRNN + DBN (default) and the librosa fallback."""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from madmom_infer.ml.hmm import HiddenMarkovModel

from bgmatch.assets import asset_path
from bgmatch.engine.analysis import beatnet, beats
from bgmatch.engine.analysis.beats import track_beats
from bgmatch.engine.analysis.neural_grid import decode_activations, neural_activations
from bgmatch.engine.analysis.downbeat_dbn import DownbeatDecoder, _FastHiddenMarkovModel
from bgmatch.engine.analysis.media import decode_audio
from bgmatch.engine.analysis.rhythm import analyze_music
from bgmatch.engine.errors import ModelError

from .midi_piece import needs_fluidsynth, render_piece

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "beatnet_reference.npz"
#: BeatNet's own model 3, as converted before fine-tuning (the shipped file is fine-tuned from it).
BEATNET_ORIGINAL = Path(__file__).resolve().parents[1] / "data" / "beatnet_model3.pt"
STEADY_TRACK = asset_path("demo", "music", "battle.opus")


def _f_measure(reference: np.ndarray, estimated: np.ndarray) -> float:
    import mir_eval

    return float(mir_eval.beat.f_measure(mir_eval.beat.trim_beats(reference), mir_eval.beat.trim_beats(estimated)))


@pytest.fixture(scope="module")
def steady_audio() -> np.ndarray:
    return decode_audio(STEADY_TRACK, sr_hz=22050, max_duration_s=30.0)


def test_neural_beats_on_real_music_agree_with_librosa_tempo_up_to_octave(steady_audio):
    track = track_beats(steady_audio, sr_hz=22050)
    assert track.method == "neural"
    assert 60.0 <= track.tempo_bpm <= 200.0
    assert track.meter in (2, 3, 4)
    assert len(track.beat_times_s) >= 20 and np.all(np.diff(track.beat_times_s) > 0)
    assert np.isin(track.downbeat_times_s, track.beat_times_s).all() and len(track.downbeat_times_s) >= 4
    librosa_tempo = track_beats(steady_audio, sr_hz=22050, method="librosa").tempo_bpm
    ratio = track.tempo_bpm / librosa_tempo
    assert min(abs(ratio - r) / r for r in (0.5, 1.0, 2.0)) < 0.06, (track.tempo_bpm, librosa_tempo)


@needs_fluidsynth
def test_rendered_midi_beats_and_downbeats_are_found(tmp_path):
    y, truth_beats, truth_downbeats = render_piece(tmp_path)
    track = track_beats(y, sr_hz=22050)
    assert track.method == "neural"
    assert _f_measure(truth_beats, track.beat_times_s) >= 0.9
    # The shipped (fine-tuned) weights hear this 4/4 piece in bars of 2 (a known weakness, see
    # assets/beats/MODEL.md): every true downbeat must still be one of its downbeats (bar phase).
    assert track.meter in (2, 4)
    import mir_eval

    found = mir_eval.beat.trim_beats(track.downbeat_times_s)
    truth = mir_eval.beat.trim_beats(truth_downbeats)
    assert np.mean([np.abs(found - t).min() < 0.07 for t in truth]) >= 0.9
    # BeatNet's original weights with the same decoder find the 4-beat bar.
    original = decode_activations(neural_activations(y, sr_hz=22050, weights=BEATNET_ORIGINAL))
    assert original.meter == 4
    assert _f_measure(truth_downbeats, original.downbeat_times_s) >= 0.8


def test_missing_weights_warn_once_and_fall_back_to_librosa(monkeypatch, tmp_path, steady_audio):
    missing = tmp_path / "no-beatnet.pt"
    monkeypatch.setattr(beatnet, "default_weights_path", lambda: missing)
    monkeypatch.setattr(beats, "_warned_missing", set())
    y = steady_audio[: 22050 * 15]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = track_beats(y, sr_hz=22050)
        second = track_beats(y, sr_hz=22050)
    mine = [w for w in caught if "BeatNet weights missing" in str(w.message)]
    assert len(mine) == 1 and str(missing) in str(mine[0].message)
    expected = analyze_music(y, sr_hz=22050)
    for track in (first, second):
        assert track.method == "librosa" and track.meter == 4
        np.testing.assert_array_equal(track.beat_times_s, expected.beat_times_s)
        assert track.tempo_bpm == expected.tempo_bpm
        assert np.isin(track.downbeat_times_s, track.beat_times_s).all()


def test_shipped_weights_load_with_weights_only_and_tampered_files_are_refused(tmp_path):
    shipped = beatnet.default_weights_path()
    assert shipped.stat().st_size <= 10 * 1024 * 1024
    payload = torch.load(shipped, weights_only=True)
    assert payload["format"] == beatnet.FORMAT and "CC BY 4.0" in payload["extra"]["license"]
    assert isinstance(beatnet.load_beatnet(shipped), beatnet.BeatNetCRNN)

    hostile = tmp_path / "hostile.pt"
    torch.save({**payload, "extra": {"hook": Path("/etc/passwd")}}, hostile)  # a non-plain object
    with pytest.raises(ModelError, match="unsafe pickle"):
        beatnet.load_beatnet(hostile)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(shipped.read_bytes()[:4000])
    with pytest.raises(ModelError, match="not a torch weights file"):
        beatnet.load_beatnet(truncated)
    newer = tmp_path / "newer.pt"
    torch.save({**payload, "format_version": beatnet.FORMAT_VERSION + 1}, newer)
    with pytest.raises(ModelError, match="format_version"):
        beatnet.load_beatnet(newer)
    wrong_shape = tmp_path / "wrong.pt"
    state = dict(payload["state_dict"])
    state["linear.weight"] = torch.zeros(4, 150)
    torch.save({**payload, "state_dict": state}, wrong_shape)
    with pytest.raises(ModelError, match="do not fit"):
        beatnet.load_beatnet(wrong_shape)


def test_features_and_activations_match_madmom_and_beatnet_reference():
    """Reference made once by training/tools/beatnet_reference.py with madmom and BeatNet's own
    model.py (throwaway env): madmom's LOG_SPECT features of a real clip and BDA's softmax; our
    network with BeatNet's original weights gives BeatNet's activations."""
    ref = np.load(REFERENCE)
    y = decode_audio(asset_path("demo", "music", str(ref["track"])), sr_hz=22050,
                     max_duration_s=float(ref["duration_s"]))
    np.testing.assert_allclose(y, ref["audio"], atol=1e-6)
    ours = beatnet.beatnet_features(y, sr_hz=22050)
    assert ours.shape == ref["features"].shape
    np.testing.assert_allclose(ours, ref["features"], atol=2e-4)
    model = beatnet.load_beatnet(BEATNET_ORIGINAL)
    with torch.inference_mode():
        probs = torch.softmax(model(torch.from_numpy(ref["features"])[None])[0], dim=-1).numpy()
    np.testing.assert_allclose(probs, ref["activations"], atol=1e-5)


def test_silence_and_empty_input_give_an_empty_or_tiny_grid():
    for y in (np.zeros(0, np.float32), np.zeros(22050 * 3, np.float32)):
        track = track_beats(y, sr_hz=22050)
        assert track.method == "neural" and len(track.beat_times_s) <= 1 and track.tempo_bpm == 0.0
        assert track.meter == 4
    with pytest.raises(ValueError, match="mono"):
        track_beats(np.zeros((2, 100), np.float32), sr_hz=22050)


def test_fast_viterbi_decodes_the_same_path_as_madmom_infer(steady_audio):
    model = beatnet.load_beatnet()
    act = beatnet.beat_activations(beatnet.beatnet_features(steady_audio[: 22050 * 8], sr_hz=22050), model)
    decoder = DownbeatDecoder(fps_hz=beatnet.FPS_HZ, beats_per_bar=(3, 4))
    for fast in decoder._processor.hmms:
        assert isinstance(fast, _FastHiddenMarkovModel)
        reference = HiddenMarkovModel.viterbi(fast, act.astype(float))
        path, log_p = fast.viterbi(act.astype(float))
        np.testing.assert_array_equal(path, reference[0])
        assert log_p == pytest.approx(reference[1], rel=1e-9)


def test_neural_default_does_not_load_librosas_numba_beat_tracker():
    code = (
        "import sys, numpy as np\n"
        "from bgmatch.engine.analysis.beats import track_beats\n"
        "from bgmatch.engine.analysis.media import decode_audio\n"
        "from bgmatch.assets import asset_path\n"
        "y = decode_audio(asset_path('demo', 'music', 'nebula.opus'), sr_hz=22050, max_duration_s=10)\n"
        "t = track_beats(y, sr_hz=22050)\n"
        "assert t.method == 'neural' and len(t.beat_times_s) > 5\n"
        "loaded = [m for m in sys.modules if m.startswith('librosa.beat') or m == 'numba']\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_tempo_is_not_quantised_to_the_frame_grid():
    from bgmatch.engine.analysis.neural_grid import _tempo_bpm

    true = 0.4285  # 140.0 BPM; on the 50 fps grid its single intervals are 0.42 s or 0.44 s
    beats = np.round(np.arange(40) * true * 50) / 50
    assert float(60 / np.median(np.diff(beats))) == pytest.approx(142.86, abs=0.01)
    assert _tempo_bpm(beats) == pytest.approx(140.0, abs=0.5)
    assert _tempo_bpm(np.array([1.0, 1.5])) == pytest.approx(120.0) and _tempo_bpm(np.array([1.0])) == 0.0
