"""The `whole` case's pieces: whole-track variants, the reference revision's tree, the probe driver."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bgmatch.assets import asset_path
from bgmatch.bench import whole
from bgmatch.bench.fixtures import whole_plan, whole_track_files
from bgmatch.bench.reference import reference_tree
from bgmatch.engine.analysis import media

REPO = Path(whole.__file__).resolve().parent.parent


def _has_revision(rev: str) -> bool:
    return subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{rev}^{{commit}}"],
                          capture_output=True).returncode == 0


needs_reference = pytest.mark.skipif(not _has_revision(whole.REFERENCE_REVISION),
                                     reason="the reference revision is not in this checkout's history (shallow clone)")


def test_whole_plan_covers_every_track_then_steps_the_speed():
    plan = whole_plan(3, 8)
    assert [t for t, _ in plan] == [0, 1, 2, 0, 1, 2, 0, 1]
    assert [s for _, s in plan[:3]] == [1.0, 1.0, 1.0]
    assert plan[3][1] == pytest.approx(1.012) and plan[6][1] == pytest.approx(0.988)
    assert len(set(plan)) == 8


def test_whole_track_files_are_whole_and_cached(tmp_path, demo_music):
    files = whole_track_files(tmp_path, demo_music[:2], n=3)
    source_s = media.probe(demo_music[0]).duration_s
    assert [media.probe(f).duration_s for f in files] == pytest.approx(
        [source_s, media.probe(demo_music[1]).duration_s, source_s / 1.012], abs=0.05)
    mtimes = [f.stat().st_mtime_ns for f in files]
    assert whole_track_files(tmp_path, demo_music[:2], n=3) == files
    assert [f.stat().st_mtime_ns for f in files] == mtimes


def _probe(args: list[str], pythonpath: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)} if pythonpath else dict(os.environ)
    out = subprocess.run([sys.executable, whole.PROBE, *args], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_probe_builds_and_ranks_a_library_with_todays_code(tmp_path, demo_music):
    listfile = tmp_path / "files.txt"
    listfile.write_text("".join(f"{f}\n" for f in demo_music[:2]))
    built = _probe(["build", str(tmp_path / "lib"), str(listfile)])
    assert built["tracks"] == 2 and built["n_failed"] == 0
    ranked = _probe(["suggest", str(tmp_path / "lib"), str(asset_path("demo", "video.mp4"))])
    assert ranked["tracks"] == 2 and sorted(ranked["top"]) == sorted(f.name for f in demo_music[:2])
    assert ranked["video_s"] > 0 and ranked["ranking_s"] > 0


@needs_reference
def test_reference_tree_imports_the_earlier_revision(tmp_path, demo_music):
    pkg = reference_tree(tmp_path, whole.REFERENCE_REVISION)
    code = "import bgmatch.engine.library as m; print(m.__file__)"
    env = {**os.environ, "PYTHONPATH": str(pkg)}
    where = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    # the earlier revision's library was one module, today's is a package
    assert Path(where.stdout.strip()) == pkg / "bgmatch" / "engine" / "library.py"
    assert reference_tree(tmp_path, whole.REFERENCE_REVISION) == pkg  # made once
    listfile = tmp_path / "files.txt"
    listfile.write_text(f"{demo_music[0]}\n")
    assert _probe(["build", str(tmp_path / "lib"), str(listfile)], pkg)["tracks"] == 1
    ranked = _probe(["suggest", str(tmp_path / "lib"), str(asset_path("demo", "video.mp4"))], pkg)
    assert ranked["top"] == [demo_music[0].name]
