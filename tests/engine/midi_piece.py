"""A short 4/4 piece (drums, bass, piano) rendered by the fluidsynth CLI, with its true beats."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not SF2.is_file(),
    reason="needs the fluidsynth CLI and the fluid-soundfont-gm soundfont to render MIDI")


def render_piece(tmp_path: Path, *, accents: bool = True, bass_line: Literal["figure", "roots", "whole"] = "figure",
                 bpm: float = 112.0, n_bars: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mono audio at 22050 Hz, beat times and downbeat times (s) of a piece whose chord changes on
    every bar line. ``accents``: a crash cymbal, a bass drum on beats 1 and 3 and a louder bass note
    mark the downbeat; without, every beat is drummed alike. ``bass_line``: root, fifth, octave,
    fifth in each bar; the root on every beat (only the harmony changes at the bar); or one note a
    bar (the bass enters only on the downbeat)."""
    pretty_midi = pytest.importorskip("pretty_midi")
    soundfile = pytest.importorskip("soundfile")
    beat_s = 60.0 / bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    bass = pretty_midi.Instrument(program=33)
    piano = pretty_midi.Instrument(program=0)
    chords = [(48, 52, 55), (45, 48, 52), (41, 45, 48), (43, 47, 50)]
    for bar in range(n_bars):
        root = chords[bar % 4]
        bar_s = bar * 4 * beat_s
        if accents:
            drums.notes.append(pretty_midi.Note(90, 49, bar_s, bar_s + 0.3))  # crash on the downbeat
        for b in range(4):
            t = (bar * 4 + b) * beat_s
            drums.notes.append(pretty_midi.Note(100, (36 if b % 2 == 0 else 38) if accents else 36, t, t + 0.1))
            drums.notes.append(pretty_midi.Note(70, 42, t + beat_s / 2, t + beat_s / 2 + 0.05))
            if bass_line != "whole" or b == 0:
                pitch = root[0] - 12 + ((0, 7, 12, 7)[b] if bass_line == "figure" else 0)
                length = beat_s * (3.9 if bass_line == "whole" else 0.9)
                bass.notes.append(pretty_midi.Note(110 if b == 0 and accents else 80, pitch, t, t + length))
        for pitch in root:
            piano.notes.append(pretty_midi.Note(80, pitch + 12, bar_s, (bar * 4 + 3.9) * beat_s))
    pm.instruments += [drums, bass, piano]
    midi, wav = tmp_path / "piece.mid", tmp_path / "piece.wav"
    pm.write(str(midi))
    subprocess.run(["fluidsynth", "-ni", "-q", "-F", str(wav), "-r", "22050", str(SF2), str(midi)],
                   check=True, capture_output=True, timeout=120)
    y, sr_hz = soundfile.read(wav, dtype="float32", always_2d=True)
    assert sr_hz == 22050
    truth = np.arange(n_bars * 4) * beat_s
    return y.mean(axis=1), truth, truth[::4]
