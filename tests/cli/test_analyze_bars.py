"""`bgmatch analyze` prints bars, phrases and sections (in words and JSON), and `bgmatch fit`
joins on the library's stored bar lines."""
from __future__ import annotations

import json
import shutil

import numpy as np

from bgmatch.cli.main import EXIT_OK, main
from bgmatch.engine.library import BeatGridCorrection, Library


def test_analyze_prints_bars_phrases_and_sections(tmp_path, demo_music, capsys):
    track = tmp_path / demo_music[3].name
    shutil.copy(demo_music[3], track)
    lib_dir = tmp_path / "lib"
    with Library.open(lib_dir) as lib:
        assert lib.add([track]).added
        tid = lib.tracks()[0].track_id
        lib.set_beat_correction(tid, BeatGridCorrection(tempo_factor=2.0))
        details = lib.track_details(tid)
    assert main(["analyze", "--library", str(lib_dir), "--json", str(track)]) == EXIT_OK
    (row,) = json.loads(capsys.readouterr().out)
    assert row["source"] == "library"
    assert row["bars"] == len(row["downbeat_times_s"]) > 4 and row["beats_per_bar"] in (6, 8)  # 2x: twice the beats of a bar of 3 or 4
    assert np.allclose(row["downbeat_times_s"], details.downbeat_times_s, atol=1e-3)
    assert set(row["downbeat_times_s"]) <= set(row["beat_times_s"])
    assert row["phrase_times_s"] and set(row["phrase_times_s"]) <= set(row["downbeat_times_s"])
    assert row["section_times_s"] and row["section_times_s"][0] == row["downbeat_times_s"][0]
    assert main(["analyze", "--library", str(lib_dir), str(track)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "from the library" in text and f"{len(details.downbeat_times_s)} of {row['beats_per_bar']} beats" in text
    for words in ("bars:", "beats (downbeats at", "phrases:", "sections:"):
        assert words in text


def test_fit_uses_the_librarys_corrected_bars(tmp_path, demo_music, capsys):
    track = tmp_path / demo_music[4].name
    shutil.copy(demo_music[4], track)
    lib_dir = tmp_path / "lib"
    with Library.open(lib_dir) as lib:
        assert lib.add([track]).added
        tid = lib.tracks()[0].track_id
        lib.set_beat_correction(tid, BeatGridCorrection(shift_s=0.123))
        downs = np.asarray(lib.track_details(tid).downbeat_times_s)
    out = tmp_path / "fit.wav"
    assert main(["fit", "--library", str(lib_dir), str(track), "--duration", "30", "-o", str(out),
                 "--loudness", "off", "--quiet"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert out.is_file() and "joins at" in printed
    with Library.open(lib_dir) as lib:
        plan = lib.fit_plan(track, offset_s=0.0, duration_s=30.0)
    assert plan.grid == "downbeats" and np.abs(np.asarray(plan.bar_times_s)[:, None] - downs[None]).min(axis=1).max() < 1e-6
