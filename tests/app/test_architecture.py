"""The app's rules: engine helpers and job glue never import Qt; the app never reaches into private engine state."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
QT_FREE = ["bgmatch.engine.analysis.beatgrid", "bgmatch.engine.preview.playsync", "bgmatch.engine.library.similar", "bgmatch.engine.preview.overlay",
           "bgmatch.engine.library.trackfilter", "bgmatch.engine.session"]


def test_engine_helpers_do_not_import_qt():
    code = "import sys\n" + "".join(f"import {m}\n" for m in QT_FREE) + \
        "bad = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'pyqtgraph', 'bgmatch.app')))\n" \
        "print(bad); sys.exit(1 if bad else 0)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_app_uses_only_public_engine_names():
    private = re.compile(r"\blibrary\._|\bengine\.\w+\._|from bgmatch\.engine\.\w+ import _")
    offenders = [f"{p.name}:{i + 1}" for p in APP.glob("*.py") for i, line in enumerate(p.read_text().splitlines())
                 if private.search(line)]
    assert offenders == []


def test_app_modules_stay_short():
    long = {p.name: n for p in APP.glob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
