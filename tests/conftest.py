"""Shared fixtures: real media fetched by ../shared/media/fetch.sh, and the bundled demo gallery."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def media_root() -> Path:
    """Folder with real music/, footage/ and photos/ (fetched once if absent)."""
    root = Path(os.environ.get("BGMATCH_MEDIA", Path.home() / ".cache" / "bgmatch-media"))
    if not (root / "music").is_dir() or not any((root / "music").rglob("*.ogg")):
        fetch = REPO.parent / "shared" / "media" / "fetch.sh"
        if not fetch.exists():
            pytest.fail(f"real media missing at {root} and no fetch script at {fetch}")
        subprocess.run(["bash", str(fetch), str(root)], check=True)
    return root


@pytest.fixture(scope="session")
def music_files(media_root: Path) -> list[Path]:
    """Every fetched real music track, sorted."""
    return sorted(p for p in (media_root / "music").rglob("*") if p.suffix in {".ogg", ".opus"})


@pytest.fixture(scope="session")
def footage_dir(media_root: Path) -> Path:
    """Folder of real video clips."""
    return media_root / "footage"


@pytest.fixture(scope="session")
def demo_music() -> list[Path]:
    """The bundled demo gallery (assets/demo/music)."""
    files = sorted((REPO / "assets" / "demo" / "music").glob("*"))
    files = [f for f in files if f.suffix in {".ogg", ".opus"}]
    if not files:
        pytest.fail("assets/demo/music is empty")
    return files
