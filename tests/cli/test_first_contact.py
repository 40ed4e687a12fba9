"""Issue 18 through `bgmatch` itself: the suggestion table in an editor's words, the export command
it prints, the note on other offsets, help text, and exit codes for empty folders, missing paths
and usage errors."""
from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from bgmatch.cli.main import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from bgmatch.cli.output import offset_clock
from bgmatch.engine.analysis.fitmeasure import fit_percent
from bgmatch.engine.library import probe

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"


@pytest.fixture(scope="module")
def demo_library(tmp_path_factory) -> Path:
    """A library of two demo tracks that fit the demo video (Nebula, which it was cut to, and By-Product)."""
    folder = tmp_path_factory.mktemp("music")
    for name in ("nebula.opus", "by-product.opus"):
        shutil.copy(DEMO / "music" / name, folder / name)
    lib = tmp_path_factory.mktemp("lib") / "lib"
    assert main(["index", "-q", "--model", "none", "--library", str(lib), str(folder)]) == EXIT_OK
    return lib


def test_suggest_speaks_fit_cuts_energy_and_milliseconds(demo_library, capsys):
    video = DEMO / "video.mp4"
    assert main(["suggest", "--model", "none", "--library", str(demo_library), str(video), "--json"]) == EXIT_OK
    rows = json.loads(capsys.readouterr().out)
    assert main(["suggest", "--model", "none", "--library", str(demo_library), str(video)]) == EXIT_OK
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["#", "fit", "cuts", "on", "beat", "energy", "offset", "BPM", "length", "title"]
    assert "fit = 0–100" in err and "±40 ms" in err
    for row, line in zip(rows, lines[1:3]):
        # JSON keeps the raw parts and adds the plain measures; the table shows the same numbers.
        assert set(row["parts"]) == {"beat", "onset", "energy", "bar"}
        assert row["fit"] == fit_percent(row["score"]) and 0 <= row["cuts_on_beat"] <= row["cuts_total"] == 17
        assert row["energy_match"] in {"good", "fair", "poor"}
        m, s = divmod(row["offset_s"], 60)
        offset = f"{int(m)}:{s:06.3f}"
        assert re.fullmatch(rf"\s*{row['rank']}\s+{row['fit']}\s+{row['cuts_on_beat']} of 17\s+"
                            rf"{row['energy_match']}\s+{re.escape(offset)}\s+\S+\s+1:00\.0\s+{row['title']}", line), line
    assert re.search(r"\d:\d\d\.\d{3}", lines[1])  # the offset to the millisecond
    # Both tracks are steady: other offsets put the cuts on the beats as well, and the note says so.
    note = next(line for line in lines if line.startswith("note:"))
    assert rows[0]["title"] in note and offset_clock(rows[0]["offset_s"]) in note
    assert rows[0]["other_offsets_s"] and all(abs(t - rows[0]["offset_s"]) >= 1.0 for t in rows[0]["other_offsets_s"])
    command = lines[lines.index("Export the top result:") + 1].strip()
    argv = shlex.split(command)
    assert argv[:4] == ["bgmatch", "export", str(video), rows[0]["path"]]
    assert argv[argv.index("--offset") + 1] == f"{rows[0]['offset_s']:.3f}"


def test_the_printed_export_command_runs_as_printed(demo_library, capsys, tmp_path, monkeypatch):
    video = DEMO / "video.mp4"
    assert main(["suggest", "-q", "--model", "none", "--library", str(demo_library), str(video), "--top", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    argv = shlex.split(lines[lines.index("Export the top result:") + 1])
    monkeypatch.chdir(tmp_path)
    assert main(argv[1:] + ["-q"]) == EXIT_OK
    out = tmp_path / argv[argv.index("-o") + 1]
    info = probe(out)
    assert info.has_audio and info.has_video and info.duration_s == pytest.approx(30.0, abs=0.15)


def _help(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*args, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_help_names_every_argument_and_only_ranking_commands_take_a_model(capsys):
    tracks = _help(capsys, "tracks")
    assert "--model" not in tracks and "--device" not in tracks and "--library" in tracks
    for command in ("index", "suggest", "demo"):
        text = _help(capsys, command)
        assert "--model" in text and "--device" in text
    assert "the edited video to find music for" in _help(capsys, "suggest")
    assert "audio files or folders" in _help(capsys, "index")
    assert "how many tracks to show" in _help(capsys, "demo")


def test_a_folder_without_audio_says_what_was_searched(tmp_path, capsys):
    empty = tmp_path / "photos"
    empty.mkdir()
    (empty / "notes.txt").write_text("no music here")
    code = main(["index", "--model", "none", "--library", str(tmp_path / "lib"), str(empty)])
    out, err = capsys.readouterr()
    assert code == EXIT_ERROR and "0 added" not in out
    assert err.count("\n") == 1 and f"no audio files in {empty}" in err and ".ogg" in err and ".mp3" in err
    assert "file/s" not in err  # no progress bar that never started


def test_a_missing_path_is_no_such_file_everywhere(tmp_path, demo_library, capsys):
    gone = tmp_path / "gone"
    assert main(["index", "-q", "--model", "none", "--library", str(tmp_path / "lib"), str(gone)]) == EXIT_ERROR
    index_err = capsys.readouterr().err
    assert main(["suggest", "-q", "--model", "none", "--library", str(demo_library), str(gone)]) == EXIT_ERROR
    suggest_err = capsys.readouterr().err
    assert index_err == suggest_err == f"error: {gone}: no such file\n"
    dangling = tmp_path / "link.ogg"
    dangling.symlink_to(tmp_path / "nowhere.ogg")
    assert main(["index", "-q", "--model", "none", "--library", str(demo_library), str(DEMO / "music" / "nebula.opus"),
                 str(dangling)]) == EXIT_ERROR
    assert capsys.readouterr().err == f"error: {dangling}: no such file\n"  # nothing indexed before the check


@pytest.mark.parametrize("argv", [
    ["suggest", "v.mp4", "--top", "-1"], ["suggest", "v.mp4", "--top", "two"], ["demo", "--top", "0"],
    ["export", "v.mp4", "t.ogg", "--offset", "-1", "-o", "o.mp4"],
    ["export", "v.mp4", "t.ogg", "--offset", "nan", "-o", "o.mp4"],
    ["export", "v.mp4", "t.ogg", "--fade-out", "-2", "-o", "o.mp4"], ["tracks", "--model", "none"],
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == EXIT_USAGE
    assert "usage:" in capsys.readouterr().err
