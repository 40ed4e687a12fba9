"""A BeatCut split's gallery as a bgmatch library (shared by ``bgmatch eval`` and ``bgmatch eval sync-tune``)."""
from __future__ import annotations

import argparse
import dataclasses

from tqdm import tqdm

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.analysis.rhythm import BEAT_SOURCES
from bgmatch.engine.library import Library, LibraryConfig

from .beatcut.layout import BenchLayout


def add_beats_argument(p: argparse.ArgumentParser) -> None:
    """The ``--beats`` option: the beat source of the split's library (``rhythm.beats``)."""
    p.add_argument("--beats", choices=BEAT_SOURCES, default=None,
                   help="beats of the gallery's analysis: the library default, or this source, in its own "
                        "library BENCH/libraries/SPLIT-SOURCE (to compare the two)")


def open_split_library(layout: BenchLayout, split: str, *, beats: str | None = None,
                       show_bar: bool = True) -> Library:
    """The split's gallery as a library in ``BENCH/libraries/<split>`` (``<split>-<beats>`` with
    another beat source than the default), indexed on first use.

    Each track is analysed up to the build's ``max_end_s`` (the span its queries come from), or
    whole (up to the library's default cap, 20 minutes) where it is null (the ground-truth edition).
    """
    info = layout.read_build()
    max_end = info["config"].get("max_end_s")
    config = LibraryConfig() if max_end is None else LibraryConfig(max_track_s=float(max_end))
    folder = layout.library_dir(split)
    if beats is not None and beats != config.rhythm.beats:
        config = dataclasses.replace(config, rhythm=dataclasses.replace(config.rhythm, beats=beats))
        folder = folder.with_name(f"{split}-{beats}")
    paths = [t.path for t in layout.gallery(split)]
    library = Library.open(folder, config=config)
    bar = tqdm(total=len(paths), unit="track", desc=f"index {split}", disable=not show_bar)

    def progress(done: int, total: int, _path: str) -> None:
        bar.n = done
        bar.refresh()

    try:
        report = library.add(paths, progress=progress)
    finally:
        bar.close()
    if report.failed:
        library.close()
        raise ConfigError(f"{report.failed[0][1]} (and {len(report.failed) - 1} more gallery tracks failed)")
    return library
