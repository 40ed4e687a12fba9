"""The `bgmatch` command end to end, through main(argv) and as an installed console script."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bgmatch.cli.main import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, main
from bgmatch.engine.analysis import media


@pytest.fixture()
def music_dir(tmp_path, music_files):
    d = tmp_path / "music"
    d.mkdir()
    for src in music_files[:3]:
        shutil.copy(src, d / src.name)
    (d / "broken.ogg").write_bytes(b"OggS" + b"\0" * 100)
    return d


def test_index_suggest_tracks_export(tmp_path, music_dir, footage_dir, capsys):
    lib = str(tmp_path / "lib")
    assert main(["index", "--library", lib, "-q", str(music_dir)]) == EXIT_PARTIAL
    out, err = capsys.readouterr()
    assert "3 added, 0 unchanged, 1 failed" in out
    assert err.count("error:") == 1 and "broken.ogg" in err
    assert main(["index", "--library", lib, "-q", str(music_dir / "sub-missing")]) == EXIT_ERROR
    assert capsys.readouterr().err == f"error: {music_dir / 'sub-missing'}: no such file\n"

    assert main(["suggest", "--library", lib, str(footage_dir / "bikes.mp4"), "--top", "2", "--json"]) == EXIT_OK
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and rows[0]["score"] >= rows[1]["score"]
    for r in rows:
        assert {"path", "title", "score", "offset_s", "parts"} <= set(r)
        assert set(r["parts"]) == {"beat", "onset", "energy", "bar"}  # the shipped model weighs 0: not loaded

    assert main(["suggest", "--library", lib, str(footage_dir / "bikes.mp4")]) == EXIT_OK
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["#", "fit"] and all(re.match(r"\s+[123]\s", row) for row in table[1:4])
    assert "Export the top result:" in table and not re.match(r"\s+4\s", table[4])

    assert main(["tracks", "--library", lib, "--json"]) == EXIT_OK
    assert len(json.loads(capsys.readouterr().out)) == 3

    best = rows[0]
    out_mp4 = tmp_path / "out.mp4"
    assert main(["export", "-q", str(footage_dir / "bikes.mp4"), best["path"], "--offset", str(best["offset_s"]),
                 "-o", str(out_mp4)]) == EXIT_OK
    info = media.probe(out_mp4)
    assert info.has_audio and info.has_video and info.duration_s == pytest.approx(10.0, abs=0.15)


def test_errors_are_one_line_with_exit_codes(tmp_path, music_dir, footage_dir, capsys):
    lib = str(tmp_path / "lib")
    assert main(["suggest", "--library", lib, str(footage_dir / "bikes.mp4")]) == EXIT_ERROR
    assert "no library here" in capsys.readouterr().err
    main(["index", "--library", lib, "-q", str(music_dir)])
    capsys.readouterr()
    notes = tmp_path / "notes.mp4"
    notes.write_text("hello")
    assert main(["suggest", "--library", lib, str(notes)]) == EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(notes) in err and "not a readable media file" in err
    with pytest.raises(SystemExit) as exc:
        main(["suggest", "--library", lib, str(notes), "--top", "0"])
    assert exc.value.code == 2


def test_console_script_version_and_help():
    beside = Path(sys.executable).parent / "bgmatch"  # the venv's scripts, whether or not it is activated
    exe = str(beside) if beside.exists() else shutil.which("bgmatch")
    if exe is None:
        pytest.fail("the bgmatch console script is not installed")
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("bgmatch ")
    helped = subprocess.run([sys.executable, "-m", "bgmatch.cli.main", "suggest", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--top" in helped.stdout and "--json" in helped.stdout and "--library" in helped.stdout


def test_clock_rounds_before_splitting_minutes():
    from bgmatch.cli.output import clock

    assert clock(59.97) == "1:00.0" and clock(0.04) == "0:00.0" and clock(125.25) == "2:05.2"


def test_offsets_print_to_the_millisecond():
    from bgmatch.cli.output import clock, offset_clock

    assert offset_clock(4.75) == "0:04.750" and offset_clock(59.9996) == "1:00.000" and offset_clock(125.0625) == "2:05.062"
    assert clock(4.75, decimals=0) == "0:05"


def test_demo_indexes_the_bundled_gallery_and_suggests_for_the_demo_video(tmp_path, capsys):
    """README command 1's main job, through the real command (synchrony alone, to keep it short)."""
    assert main(["demo", "--library", str(tmp_path / "demo"), "--model", "none", "-q", "--top", "3"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "24 added, 0 unchanged, 0 failed" in out
    rows = [line for line in out.splitlines() if re.match(r"\s+[123]\s+\d+\s", line)]
    assert len(rows) == 3 and "Export the top result:" in out
    assert any(name in out for name in ("Nebula", "By-Product", "Advanced Simulacra"))  # the demo's album
