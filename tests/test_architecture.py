"""Dependency direction (DESIGN §2): engine imports neither Qt, app nor training; training never
imports app or Qt. Checked on every import statement of every module, including lazy ones."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "engine": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "bgmatch.app", "bgmatch.training"),
    "training": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "bgmatch.app"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_the_dependency_direction(package):
    files = sorted((REPO / package).rglob("*.py"))
    assert files
    bad = [f"{f.relative_to(REPO)} imports {name}" for f in files for name in _imports(f)
           if any(name == p or name.startswith(p + ".") for p in FORBIDDEN[package])]
    assert bad == []


def test_the_check_catches_a_violation(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from PySide6 import QtCore\n")
    assert _imports(module) == ["PySide6"]
