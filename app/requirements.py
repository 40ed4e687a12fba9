"""What the desktop app needs before Qt is imported: PySide6, and the system libraries that Qt's
platform plugin and QtMultimedia load.

Qt's own message for a missing library blames the wrong one (it names libxcb-cursor0 whatever
is missing), so :func:`missing_requirement` runs ``ldd`` on the plugins the app will load and
names the Debian packages of the libraries reported ``not found``. Imports neither Qt nor
anything that does; runs where PySide6 is absent.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

#: What to run when PySide6 itself is missing.
PYSIDE_INSTALL = "pip install 'PySide6>=6.7,!=6.12.0' 'pyqtgraph>=0.13'"

#: Debian package of each library (soname prefix up to ``.so``) that PySide6's xcb, wayland and
#: offscreen platform plugins and its FFmpeg multimedia plugin link, found with ``ldd`` on
#: PySide6 6.x on Debian 12 and ``dpkg -S``. A library not listed is named by its soname.
DEBIAN_PACKAGES: dict[str, str] = {
    "libEGL": "libegl1", "libGL": "libgl1", "libGLX": "libglx0", "libGLdispatch": "libglvnd0",
    "libOpenGL": "libopengl0",
    "libX11": "libx11-6", "libX11-xcb": "libx11-xcb1", "libXau": "libxau6", "libXdmcp": "libxdmcp6",
    "libXext": "libxext6", "libXrandr": "libxrandr2", "libXrender": "libxrender1",
    "libxcb": "libxcb1", "libxcb-cursor": "libxcb-cursor0", "libxcb-glx": "libxcb-glx0",
    "libxcb-icccm": "libxcb-icccm4", "libxcb-image": "libxcb-image0", "libxcb-keysyms": "libxcb-keysyms1",
    "libxcb-randr": "libxcb-randr0", "libxcb-render-util": "libxcb-render-util0",
    "libxcb-render": "libxcb-render0", "libxcb-shape": "libxcb-shape0", "libxcb-shm": "libxcb-shm0",
    "libxcb-sync": "libxcb-sync1", "libxcb-util": "libxcb-util1", "libxcb-xfixes": "libxcb-xfixes0",
    "libxcb-xkb": "libxcb-xkb1", "libxcb-xinput": "libxcb-xinput0", "libxcb-xinerama": "libxcb-xinerama0",
    "libxkbcommon": "libxkbcommon0", "libxkbcommon-x11": "libxkbcommon-x11-0",
    "libwayland-client": "libwayland-client0", "libwayland-cursor": "libwayland-cursor0",
    "libwayland-egl": "libwayland-egl1",
    "libfontconfig": "libfontconfig1", "libfreetype": "libfreetype6", "libpng16": "libpng16-16",
    "libdbus-1": "libdbus-1-3", "libglib-2.0": "libglib2.0-0", "libgthread-2.0": "libglib2.0-0",
    "libpulse": "libpulse0", "libpulsecommon": "libpulse0", "libasyncns": "libasyncns0",
    "libsndfile": "libsndfile1", "libFLAC": "libflac12", "libogg": "libogg0", "libopus": "libopus0",
    "libvorbis": "libvorbis0a", "libvorbisenc": "libvorbisenc2", "libmp3lame": "libmp3lame0",
    "libmpg123": "libmpg123-0", "libdrm": "libdrm2", "libgssapi_krb5": "libgssapi-krb5-2",
    "libkrb5": "libkrb5-3", "libk5crypto": "libk5crypto3", "libkrb5support": "libkrb5support0",
    "libsystemd": "libsystemd0", "libstdc++": "libstdc++6",
}

#: Libraries that come with the PySide6 wheel itself (never a system package).
PYSIDE_OWN = ("libQt6", "libpyside6", "libshiboken6")

#: ``ldd`` lines of a library it could not find: ``\tlibxcb-icccm.so.4 => not found``.
_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)


def package_of(soname: str) -> str:
    """The Debian package that provides ``soname`` (``libxcb-icccm.so.4`` → ``libxcb-icccm4``), or the soname."""
    stem = soname.split(".so", 1)[0]
    if stem in DEBIAN_PACKAGES:
        return DEBIAN_PACKAGES[stem]
    base = re.sub(r"-[\d.]+$", "", stem)  # libpulsecommon-16.1 → libpulsecommon
    return DEBIAN_PACKAGES.get(base, soname)


def missing_sonames(ldd_output: str) -> list[str]:
    """Libraries ``ldd`` reported ``not found``, in order, without repeats."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def run_ldd(path: Path) -> str:
    """``ldd``'s output for a shared library ('' when ldd is absent or fails to run)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        done = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def platform_plugin_name(environ: dict[str, str] | os._Environ = os.environ) -> str:
    """The Qt platform plugin the app will load: ``QT_QPA_PLATFORM``'s first choice, else xcb."""
    wanted = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    return wanted or "xcb"


def qt_plugins(pyside_dir: Path, *, platform: str) -> list[Path]:
    """The plugins of PySide6 in ``pyside_dir`` whose libraries the app needs: the platform
    plugin ``platform`` and every multimedia plugin (those present)."""
    plugins = pyside_dir / "Qt" / "plugins"
    wanted = [plugins / "platforms" / f"libq{platform}.so", *sorted((plugins / "multimedia").glob("*.so"))]
    return [p for p in wanted if p.is_file()]


def missing_packages(plugins: Iterable[Path], *, ldd: Callable[[Path], str] = run_ldd) -> list[str]:
    """Debian packages (or sonames) of the libraries the ``plugins`` need and the system lacks."""
    out: list[str] = []
    for plugin in plugins:
        for soname in missing_sonames(ldd(plugin)):
            name = package_of(soname)
            if name not in out:
                out.append(name)
    return out


def pyside_dir() -> Path | None:
    """PySide6's package folder, found without importing it (None when not installed)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def missing_requirement(*, environ: dict[str, str] | os._Environ = os.environ,
                        find_pyside: Callable[[], Path | None] = pyside_dir,
                        ldd: Callable[[Path], str] = run_ldd) -> str | None:
    """One line saying what to install for the app to start, or None when nothing is missing.

    Checks that PySide6 and pyqtgraph are installed and, on Linux, that the libraries of the
    Qt platform plugin (``QT_QPA_PLATFORM``, default xcb) and the multimedia plugins resolve.
    """
    folder = find_pyside()
    if folder is None:
        return f"the desktop app needs PySide6, which is not installed: {PYSIDE_INSTALL}"
    if importlib.util.find_spec("pyqtgraph") is None:
        return f"the desktop app needs pyqtgraph, which is not installed: {PYSIDE_INSTALL}"
    if not sys.platform.startswith("linux"):
        return None
    platform = platform_plugin_name(environ)
    packages = missing_packages(qt_plugins(folder, platform=platform), ldd=ldd)
    own = [p for p in packages if p.startswith(PYSIDE_OWN)]
    if own:  # Qt's own libraries ship inside the wheel: the installation is broken, not the system
        return (f"PySide6 in {folder} is incomplete ({', '.join(own)} not found): "
                f"pip install --force-reinstall 'PySide6>=6.7,!=6.12.0'")
    if not packages:
        return None
    return (f"the desktop app needs system libraries that are missing (Qt {platform} platform and "
            f"multimedia plugins): sudo apt-get install {' '.join(packages)}")
