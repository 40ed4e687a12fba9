"""The architecture the code must keep (docs/ARCHITECTURE.md): one door from the app and the CLI
into the engine, the dependency direction between the packages, and no import circles. Checked on
every import statement of every module, including lazy and type-checking ones."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"engine": "bgmatch.engine", "app": "bgmatch.app", "cli": "bgmatch.cli", "training": "bgmatch.training",
            "bench": "bgmatch.bench", "assets": "bgmatch.assets"}
FORBIDDEN = {
    "engine": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "bgmatch.app", "bgmatch.cli", "bgmatch.training"),
    "training": ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "bgmatch.app", "bgmatch.cli"),
}
#: The only engine modules the app and the CLI may import: the Library facade, errors, the session.
DOOR = ("bgmatch.engine.library", "bgmatch.engine.errors", "bgmatch.engine.session")
#: The only module of the training package the app may import: its typed entry.
TRAINING_ENTRY = "bgmatch.training.api"


def module_name(path: Path, root: Path = REPO) -> str:
    """The import name of a project file (``engine/library/facade.py`` → ``bgmatch.engine.library.facade``)."""
    rel = path.relative_to(root)
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:-1]]
    if rel.stem != "__init__":
        parts.append(rel.stem)
    return ".".join(parts)


def imports(path: Path, root: Path = REPO) -> list[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved; ``from pkg
    import name`` gives ``pkg.name`` when that is a module of the project)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path, root)
    package = here if path.stem == "__init__" else here.rpartition(".")[0]
    known = project_modules(root)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                names.append(sub if sub in known else base)
    return names


_MODULES: dict[Path, set[str]] = {}


def project_modules(root: Path = REPO) -> set[str]:
    if root not in _MODULES:
        _MODULES[root] = {module_name(f, root) for folder in PACKAGES for f in (root / folder).rglob("*.py")}
    return _MODULES[root]


def files_of(folder: str, root: Path = REPO) -> list[Path]:
    return sorted((root / folder).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_the_dependency_direction(package):
    files = files_of(package)
    assert files
    bad = [f"{f.relative_to(REPO)} imports {name}" for f in files for name in imports(f)
           if any(name == p or name.startswith(p + ".") for p in FORBIDDEN[package])]
    assert bad == []


@pytest.mark.parametrize("package", ["app", "cli"])
def test_app_and_cli_reach_the_engine_only_through_the_door(package):
    bad = [f"{f.relative_to(REPO)} imports {name}" for f in files_of(package) for name in imports(f)
           if name.startswith("bgmatch.engine") and name not in DOOR]
    assert bad == []


def test_app_reaches_training_only_through_its_entry():
    names = [(f, name) for f in files_of("app") for name in imports(f)]
    bad = [f"{f.relative_to(REPO)} imports {name}" for f, name in names
           if (name == "bgmatch.training" or name.startswith("bgmatch.training.")) and name != TRAINING_ENTRY]
    assert bad == []
    assert any(name == TRAINING_ENTRY for _, name in names)  # the app does start training there


def import_cycles(root: Path = REPO) -> list[list[str]]:
    """Strongly connected groups of project modules that import each other (Tarjan)."""
    known = project_modules(root)
    graph = {module_name(f, root): sorted({n for n in imports(f, root) if n in known})
             for folder in PACKAGES for f in files_of(folder, root)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, []):
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_circles_anywhere():
    assert import_cycles() == []


def test_the_checks_catch_violations(tmp_path):
    (tmp_path / "engine").mkdir()
    (tmp_path / "app").mkdir()
    for folder in PACKAGES:
        (tmp_path / folder).mkdir(exist_ok=True)
    (tmp_path / "engine" / "a.py").write_text("from . import b\n")
    (tmp_path / "engine" / "b.py").write_text("def f():\n    from .a import x\n")
    (tmp_path / "app" / "m.py").write_text("from bgmatch.engine.a import x\nfrom PySide6 import QtCore\n")
    assert import_cycles(tmp_path) == [["bgmatch.engine.a", "bgmatch.engine.b"]]
    assert imports(tmp_path / "app" / "m.py", tmp_path) == ["bgmatch.engine.a", "PySide6"]


def imported_names(path: Path, root: Path = REPO) -> list[tuple[str, str]]:
    """``(module, name)`` of each ``from module import name`` in ``path`` where ``module`` is a project
    module and ``name`` is not one of its submodules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    inside = path.relative_to(root).parts[0] in PACKAGES  # tests/ is no package: its relative imports are skipped
    here = module_name(path, root) if inside else ""
    package = here if path.stem == "__init__" else here.rpartition(".")[0]
    known = project_modules(root)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (inside or not node.level):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            out += [(base, a.name) for a in node.names
                    if base in known and a.name != "*" and f"{base}.{a.name}" not in known]
    return out


def test_every_name_imported_from_the_project_exists():
    """Guards the lazily loaded door (``engine/library/__init__.py``): a name left out of its table
    would only fail when the import runs, e.g. in `bgmatch demo`."""
    import importlib

    wanted = {pair for folder in ("engine", "app", "cli", "training", "bench") for f in files_of(folder)
              for pair in imported_names(f)}
    wanted |= {pair for f in sorted((REPO / "tests").rglob("*.py")) for pair in imported_names(f)}
    missing = sorted(f"{module}.{name}" for module, name in wanted
                     if not hasattr(importlib.import_module(module), name))
    assert not missing, missing
