"""What the app needs before Qt starts (app.requirements): PySide6 in the default install, one line
naming what to install when PySide6 or a system library is missing, no traceback."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from bgmatch.app.requirements import (missing_packages, missing_requirement, missing_sonames, package_of,
                                      platform_plugin_name, pyside_dir, qt_plugins)

REPO = Path(__file__).resolve().parents[2]

#: ldd's output for libqxcb.so on a machine that lacks two of the xcb libraries (what issue 18 saw).
LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd1b5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibpulsecommon-16.1.so => not found
\tlibsomething-new.so.3 => not found
"""


def test_the_app_is_part_of_the_default_install():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    assert "PySide6>=6.7,!=6.12.0" in core and "pyqtgraph" in core
    assert project["optional-dependencies"]["app"] == []  # kept as an alias for old instructions


def test_missing_sonames_are_named_by_their_debian_packages():
    assert missing_sonames(LDD_MISSING) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libpulsecommon-16.1.so",
                                            "libsomething-new.so.3"]
    assert package_of("libxcb-icccm.so.4") == "libxcb-icccm4" and package_of("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert package_of("libpulsecommon-16.1.so") == "libpulse0" and package_of("libGL.so.1") == "libgl1"
    assert package_of("libsomething-new.so.3") == "libsomething-new.so.3"


def test_a_missing_library_gives_one_line_naming_the_packages(tmp_path):
    plugins = tmp_path / "PySide6" / "Qt" / "plugins"
    (plugins / "platforms").mkdir(parents=True)
    (plugins / "multimedia").mkdir()
    (plugins / "platforms" / "libqxcb.so").write_bytes(b"\x7fELF")
    (plugins / "multimedia" / "libffmpegmediaplugin.so").write_bytes(b"\x7fELF")
    seen = []

    def fake_ldd(path: Path) -> str:
        seen.append(path.name)
        return LDD_MISSING if path.name == "libqxcb.so" else "\tlibpulse.so.0 => not found\n"

    line = missing_requirement(environ={}, find_pyside=lambda: tmp_path / "PySide6", ldd=fake_ldd)
    assert seen == ["libqxcb.so", "libffmpegmediaplugin.so"]
    assert "\n" not in line and line.endswith(
        "sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libpulse0 libsomething-new.so.3")
    assert "libxcb-cursor0" not in line  # installed: not blamed, unlike Qt's own message
    assert missing_requirement(environ={}, find_pyside=lambda: tmp_path / "PySide6", ldd=lambda p: "") is None
    assert "pip install 'PySide6" in missing_requirement(find_pyside=lambda: None)


def test_the_platform_plugin_checked_follows_qt_qpa_platform():
    assert platform_plugin_name({}) == "xcb" and platform_plugin_name({"QT_QPA_PLATFORM": "offscreen"}) == "offscreen"
    assert platform_plugin_name({"QT_QPA_PLATFORM": "wayland;xcb"}) == "wayland"
    assert platform_plugin_name({"QT_QPA_PLATFORM": "vnc:size=800x600"}) == "vnc"


def test_the_real_check_finds_everything_installed_here():
    folder = pyside_dir()
    assert folder is not None and (folder / "Qt" / "plugins").is_dir()
    xcb = qt_plugins(folder, platform="xcb")
    assert [p.name for p in xcb][:1] == ["libqxcb.so"] and any("multimedia" in str(p) for p in xcb)
    assert missing_packages(xcb) == []  # real ldd on PySide6's xcb and multimedia plugins
    assert missing_requirement(environ={"QT_QPA_PLATFORM": "xcb"}) is None
    assert missing_requirement() is None


def test_a_plugin_cut_off_from_its_qt_libraries_asks_to_reinstall_pyside(tmp_path):
    """Real ldd on a copy of the xcb plugin outside the wheel: its Qt libraries are not found."""
    plugin = tmp_path / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    plugin.parent.mkdir(parents=True)
    shutil.copy(pyside_dir() / "Qt" / "plugins" / "platforms" / "libqxcb.so", plugin)
    line = missing_requirement(environ={}, find_pyside=lambda: tmp_path / "PySide6")
    assert "libQt6XcbQpa.so.6" in line and "pip install --force-reinstall" in line and "apt-get" not in line


def _without_pyside(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python sees no PySide6 (a sitecustomize blocks the import)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['PySide6'] = None\nsys.modules['pyqtgraph'] = None\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_without_pyside_both_commands_print_one_line_and_exit_1(tmp_path):
    env = _without_pyside(tmp_path)
    scripts = Path(sys.executable).parent
    commands = [[sys.executable, "-m", "bgmatch.cli.main", "app"], [str(scripts / "bgmatch"), "app"],
                [str(scripts / "bgmatch-app")], [sys.executable, "-m", "bgmatch.app.main"]]
    for cmd in commands:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1, (cmd, done.stderr)
        assert len(lines) == 1 and "Traceback" not in done.stderr, (cmd, done.stderr)
        assert "PySide6" in lines[0] and "pip install" in lines[0], (cmd, lines)
    helped = subprocess.run([str(scripts / "bgmatch-app"), "--help"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert helped.returncode == 0 and "drop a video" in helped.stdout  # help needs no Qt
