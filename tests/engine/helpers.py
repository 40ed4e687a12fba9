"""Helpers for engine tests: a ranked library of demo tracks, and sessions on private copies of it."""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from bgmatch.engine.library import Library, Suggestion, probe
from bgmatch.engine.session import LoadedVideo, Session

REPO = Path(__file__).resolve().parents[2]
DEMO_VIDEO = REPO / "assets" / "demo" / "video.mp4"

Ranked = tuple[Path, LoadedVideo, list[Suggestion]]


def ranked_demo_library(folder: Path, tracks: Sequence[Path], *, tagging: bool = True) -> Ranked:
    """A library of ``tracks`` in ``folder``, the demo video's analysis and its ranking of them."""
    with Library.open(folder) as library:
        library.set_tagging(tagging)
        assert len(library.add(tracks).added) == len(tracks)
        query = library.query(DEMO_VIDEO)
        suggestions = library.suggest(query, top=len(tracks))
    return folder, LoadedVideo(DEMO_VIDEO, probe(DEMO_VIDEO), query.analysis), suggestions


@contextmanager
def session_on_copy(ranked: Ranked, tmp_path: Path) -> Iterator[Session]:
    """A session on a private copy of the ranked library, with the demo video's ranking loaded."""
    template, video, suggestions = ranked
    shutil.copytree(template, tmp_path / "lib")
    library = Library.open(tmp_path / "lib", create=False)
    try:
        session = Session(library)
        session.set_video(video, suggestions)
        yield session
    finally:
        library.close()
