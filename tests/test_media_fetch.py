"""The project fetches its own test media (tests/media/fetch.sh): a fresh clone needs nothing beside it."""
from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _conftest():
    """The top-level conftest as a module (loaded by path: tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bgmatch_tests_conftest", REPO / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fixtures_fetch_with_the_script_in_the_repo(monkeypatch, tmp_path):
    conftest = _conftest()
    fetcher = conftest.media_fetcher()
    assert fetcher == REPO / "tests" / "media" / "fetch.sh" and fetcher.is_file()
    assert REPO in fetcher.resolve().parents  # inside the clone, not beside it
    monkeypatch.setenv("BGMATCH_MEDIA", str(tmp_path / "m"))
    assert conftest.media_dir() == tmp_path / "m"
    monkeypatch.delenv("BGMATCH_MEDIA")
    assert conftest.media_dir() == Path.home() / ".cache" / "bgmatch-media"


def test_no_file_a_clone_needs_points_outside_the_repo():
    files = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=True).stdout
    # Every tracked file must do without the workspace's media folder beside the clone.
    this = str(Path(__file__).resolve().relative_to(REPO))
    offenders = [f for f in files.splitlines() if f != this and (REPO / f).is_file()
                 and "shared/media" in (REPO / f).read_text(errors="ignore")]
    assert offenders == []
    assert "bash tests/media/fetch.sh" in (REPO / ".ci" / "run").read_text()


def test_the_fetcher_lays_out_unpacked_packages_and_is_idempotent(tmp_path, media_root):
    """Run the script on a folder whose packages are already unpacked (links to the fetched
    media's x/ entries): it must build music/, footage/, photos/ and licenses/ without
    downloading, and a second run must change nothing."""
    dest = tmp_path / "media"
    (dest / "x").mkdir(parents=True)
    for unpacked in sorted((media_root / "x").iterdir()):
        (dest / "x" / unpacked.name).symlink_to(unpacked)
    script = REPO / "tests" / "media" / "fetch.sh"
    first = subprocess.run(["bash", str(script), str(dest)], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    music = sorted(p.name for p in (dest / "music").rglob("*.ogg"))
    assert music == sorted(p.name for p in (media_root / "music").rglob("*.ogg")) and len(music) > 20
    footage = {p.name for p in (dest / "footage").iterdir()}
    assert {"bikes.mp4", "bigbuckbunny.mp4", "vtest.avi"} <= footage and "Megamind_bugy.avi" not in footage
    assert all((dest / "footage" / f).stat().st_size > 0 for f in footage)
    assert len(list((dest / "photos").iterdir())) == 11
    assert {"wesnoth-1.16-music.copyright", "singularity-music.copyright"} <= {p.name for p in (dest / "licenses").iterdir()}
    listing = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if "x" not in p.relative_to(dest).parts[:1])
    second = subprocess.run(["bash", str(script), str(dest)], capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and second.stdout == first.stdout
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if "x" not in p.relative_to(dest).parts[:1]) == listing
    assert not (dest / "SOURCES.txt").exists()  # nothing was fetched, so nothing new is recorded
