"""Data flows down (docs/ARCHITECTURE.md): while a suggestion is ranked with a model, nothing in
``engine.learned`` or ``engine.analysis`` calls back into ``engine.library``. Traced on a real
suggest (real files, real model forward)."""
from __future__ import annotations

import shutil
import sys
from collections import Counter

from bgmatch.engine.learned.bundle import ModelBundle
from bgmatch.engine.library import Library

LOWER = ("bgmatch.engine.learned", "bgmatch.engine.analysis")
LIBRARY = "bgmatch.engine.library"


def _module(frame) -> str:
    return frame.f_globals.get("__name__", "")


def trace_suggest(library: Library, video) -> tuple[list[str], list[str]]:
    """(modules entered, in order without repeats in a row; calls into the library made while a
    lower layer's frame was on the stack)."""
    walk, upward = [], []

    def profile(frame, event, arg):
        if event != "call":
            return
        name = _module(frame)
        if not name.startswith("bgmatch.engine"):
            return
        if not walk or walk[-1] != name:
            walk.append(name)
        if name.startswith(LIBRARY):
            caller = frame.f_back
            while caller is not None:
                if _module(caller).startswith(LOWER):
                    upward.append(f"{_module(caller)}.{caller.f_code.co_name} → {name}.{frame.f_code.co_name}")
                    break
                caller = caller.f_back

    sys.setprofile(profile)
    try:
        library.suggest(video, top=3)
    finally:
        sys.setprofile(None)
    return walk, upward


def test_a_suggestion_with_a_model_never_calls_back_into_the_library(tmp_path, demo_music, tiny_bundle_dir,
                                                                     footage_dir):
    music = tmp_path / "music"
    music.mkdir()
    for src in demo_music[:3]:
        shutil.copy(src, music / src.name)
    with Library.open(tmp_path / "lib") as lib:
        lib.set_model(ModelBundle.load(tiny_bundle_dir, device="cpu"))
        lib.add([music])
        walk, upward = trace_suggest(lib, footage_dir / "bikes.mp4")
    assert upward == []
    assert any(m.startswith("bgmatch.engine.learned") for m in walk)  # the model did take part
    left_and_returned = Counter(m for i, m in enumerate(walk) if m in walk[:i])
    print(f"suggest walk: {len(set(walk))} modules, {len(walk)} entries, returns: {dict(left_and_returned)}")
