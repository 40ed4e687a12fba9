"""`bgmatch export --fit/--timeline/--loudness` and `bgmatch fit`, through main(argv), on real media."""
from __future__ import annotations

import re

import pytest

from bgmatch.cli.main import EXIT_ERROR, EXIT_OK, build_parser, main
from bgmatch.engine.analysis import media
from bgmatch.engine.output.loudness import integrated_lufs


@pytest.fixture(scope="module")
def nebula(demo_music):
    return next(p for p in demo_music if p.name == "nebula.opus")  # 60 s


def test_export_refuses_a_track_that_runs_out_then_fits_it(tmp_path, footage_dir, nebula, capsys):
    video = footage_dir / "tree.avi"  # 29.6 s
    out = tmp_path / "out.mp4"
    assert main(["export", "-q", str(video), str(nebula), "--offset", "50", "-o", str(out)]) == EXIT_ERROR
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "10.00 s of music" in err and "29.60 s video" in err and "--fit" in err
    assert not out.exists()
    assert main(["export", "-q", str(video), str(nebula), "--offset", "50", "--fit", "--loudness", "-16",
                 "-o", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    measured = float(re.search(r"loudness of the written file: (-?[\d.]+) LUFS", printed).group(1))
    assert abs(measured + 16) < 0.5 and "fit: " in printed
    sound = media.decode_audio(out, sr_hz=48000, stereo=True)
    assert abs(integrated_lufs(sound, sr_hz=48000) - measured) < 0.1  # what it printed is what the file has
    assert abs(sound.shape[1] / 48000 - 29.6) < 0.07


def test_fit_writes_the_music_alone(tmp_path, nebula, capsys):
    out = tmp_path / "fit.wav"
    assert main(["fit", "-q", str(nebula), "--offset", "12", "--duration", "45", "-o", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "loudness of the written file: -14." in printed or "loudness of the written file: -13." in printed
    assert media.probe(out).duration_s == pytest.approx(45.0, abs=1 / 25)
    assert main(["fit", "-q", str(nebula), "--offset", "12", "--duration", "0.5", "-o", str(out)]) == EXIT_ERROR
    assert "shorter than one bar" in capsys.readouterr().err


def test_export_timeline_by_extension(tmp_path, footage_dir, nebula, capsys):
    video = footage_dir / "bikes.mp4"  # 10 s at 25 fps
    out = tmp_path / "edit.fcpxml"
    assert main(["export", "-q", str(video), str(nebula), "--offset", "4", "--timeline", str(out)]) == EXIT_OK
    assert "wrote" in capsys.readouterr().out and out.read_text().lstrip().startswith("<?xml")
    assert main(["export", "-q", str(video), str(nebula), "--offset", "4", "--timeline",
                 str(tmp_path / "edit.aaf")]) == EXIT_ERROR
    assert "unknown timeline format '.aaf'" in capsys.readouterr().err


def test_every_new_argument_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("export", "fit"):
        for action in sub.choices[name]._actions:
            assert action.help, f"{name} {action.dest} has no --help text"
