"""Where libraries live by default (the user data folder), one definition for the CLI and the app."""
from __future__ import annotations

from pathlib import Path


def user_data_folder() -> Path:
    """bgmatch's folder in the user data dir (``~/.local/share/bgmatch`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("bgmatch"))


def default_library_folder() -> Path:
    """The library used when none is named."""
    return user_data_folder() / "library"


def demo_library_folder() -> Path:
    """The separate library ``bgmatch demo`` indexes the bundled demo music into."""
    return user_data_folder() / "demo-library"
