"""An earlier revision of bgmatch as an importable tree, the reference of a 'today's code' case.

``git archive`` writes the revision's files into the cache; a ``bgmatch`` package folder is then
laid out from that revision's own ``[tool.setuptools.package-dir]`` (symbolic links), so a child
process with ``PYTHONPATH`` set to it imports that revision instead of the installed one. Needs
the repository's history (a clone, not a bare copy of the files).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tomllib
from io import BytesIO
from pathlib import Path

from .measure import BenchError

_REPO = Path(__file__).resolve().parent.parent


def _git(*args: str) -> bytes:
    try:
        return subprocess.run(["git", "-C", str(_REPO), *args], check=True, capture_output=True).stdout
    except FileNotFoundError:
        raise BenchError("git is not installed; the reference revision cannot be read") from None
    except subprocess.CalledProcessError as exc:
        raise BenchError(f"git {' '.join(args)} failed in {_REPO}: {exc.stderr.decode(errors='replace').strip()}") from None


def reference_tree(cache: Path, revision: str) -> Path:
    """The folder to put on ``PYTHONPATH`` to import bgmatch as of ``revision`` (made once)."""
    root = cache / f"ref-{revision}"
    pkg = root / "pkg"
    if (pkg / "bgmatch" / "__init__.py").exists():
        return pkg
    shutil.rmtree(root, ignore_errors=True)
    src = root / "src"
    src.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(_git("archive", "--format=tar", revision))) as tar:
        # the "data" filter refuses links out of the tree (Python 3.11.4+; git's own archive before that)
        tar.extractall(src, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    dirs = tomllib.loads((src / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    top = pkg / "bgmatch"
    top.mkdir(parents=True)
    for name, folder in sorted(dirs.items()):
        parts = name.split(".")
        if len(parts) == 2:  # sub-sub-packages sit inside their parent's folder already
            os.symlink(src / folder, top / parts[1])
    (top / "__init__.py").write_text(f'"""bgmatch as of {revision} (benchmark reference)."""\n')
    return pkg
