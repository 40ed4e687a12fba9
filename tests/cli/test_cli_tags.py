"""`bgmatch index` tags, `bgmatch search`, `bgmatch suggest --text` and `bgmatch analyze` on real demo music."""
from __future__ import annotations

import json
import shutil

import pytest

from bgmatch.cli.main import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, main
from bgmatch.engine.library import Library

VIDEO = "assets/demo/video.mp4"


@pytest.fixture(scope="module")
def tagged_library(tmp_path_factory, demo_music):
    root = tmp_path_factory.mktemp("cli-tags")
    music = root / "music"
    music.mkdir()
    for src in demo_music[:8]:
        shutil.copy(src, music / src.name)
    lib = root / "lib"
    with Library.open(lib) as library:  # an existing library made before tagging …
        library.set_tagging(False)
        library.add([music])
    assert main(["index", "--library", str(lib), "-q", "--model", "none", str(music)]) == EXIT_OK  # … gets tagged
    with Library.open(lib) as library:
        assert library.missing_tags() == [] and all(t.tags for t in library.tracks())
    return lib, music


def test_search_table_and_json(tagged_library, capsys):
    lib, _ = tagged_library
    assert main(["search", "--library", str(lib), "-q", "epic orchestral", "--top", "3"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[0].split()[:2] == ["#", "score"]
    assert main(["search", "--library", str(lib), "calm piano", "--json"]) == EXIT_OK
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 8 and [r["rank"] for r in rows] == list(range(1, 9))
    assert rows[0]["tags"][0]["probability"] > 0 and rows[0]["parts"]["text"] == rows[0]["score"]
    assert rows[0]["parts"]["matched"]


def test_loading_the_text_model_prints_no_progress_bar(tagged_library, capsys):
    """transformers' "Loading weights" bar is noise on the CLI's stderr."""
    from bgmatch.engine.learned.textspace import default_text_model

    lib, _ = tagged_library
    default_text_model.cache_clear()  # the model is loaded in this call, not reused from another test
    assert main(["search", "--library", str(lib), "-q", "relaxing", "--top", "1"]) == EXIT_OK
    assert "Loading weights" not in capsys.readouterr().err


def test_search_bad_text(tagged_library, capsys):
    lib, _ = tagged_library
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--library", str(lib), "   "])
    assert exit_.value.code == EXIT_USAGE and "empty" in capsys.readouterr().err
    assert main(["search", "--library", str(lib), "my grandmother's recipe for soup"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "matches none of the music tags" in err


def test_suggest_with_text(tagged_library, capsys):
    lib, _ = tagged_library
    base = ["suggest", "--library", str(lib), "-q", "--model", "none", VIDEO, "--json", "--top", "8"]
    assert main(base) == EXIT_OK
    plain = json.loads(capsys.readouterr().out)
    assert main(base + ["--text", "calm piano", "--text-weight", "0"]) == EXIT_OK
    assert [r["track_id"] for r in json.loads(capsys.readouterr().out)] == [r["track_id"] for r in plain]
    assert main(base + ["--text", "calm piano", "--text-weight", "1"]) == EXIT_OK
    steered = json.loads(capsys.readouterr().out)
    texts = [r["parts"]["text"] for r in steered]
    assert texts == sorted(texts, reverse=True) and all(r["tags"] for r in steered)
    with pytest.raises(SystemExit) as exit_:
        main(base + ["--text", "piano", "--text-weight", "2"])
    assert exit_.value.code == EXIT_USAGE


def test_analyze_in_and_outside_the_library(tagged_library, tmp_path, demo_music, capsys):
    lib, music = tagged_library
    inside = sorted(music.iterdir())[0]
    outside = demo_music[-1]
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(b"OggS" + b"\0" * 100)
    code = main(["analyze", "--library", str(lib), "--json", str(inside), str(broken), str(outside)])
    assert code == EXIT_PARTIAL
    captured = capsys.readouterr()
    assert captured.err.count("error:") == 1 and "broken.ogg" in captured.err
    rows = json.loads(captured.out)
    assert [r["source"] for r in rows] == ["library", "analysed"]
    for r in rows:
        assert r["tempo_bpm"] > 0 and r["beats"] == len(r["beat_times_s"]) > 4 and len(r["tags"]) == 10
        assert r["metadata"].get("title")
    assert main(["analyze", "--library", str(tmp_path / "no-lib"), str(outside)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "analysed now" in text and "tempo:" in text and "beats:" in text and "tags:" in text
