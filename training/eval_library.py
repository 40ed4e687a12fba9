"""A BeatCut split's gallery as a bgmatch library (shared by ``bgmatch eval`` and ``bgmatch eval sync-tune``)."""
from __future__ import annotations

from tqdm import tqdm

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.library import Library, LibraryConfig

from .beatcut.layout import BenchLayout


def open_split_library(layout: BenchLayout, split: str, *, show_bar: bool = True) -> Library:
    """The split's gallery as a library in ``BENCH/libraries/<split>``, indexed on first use.

    Each track is analysed up to the build's ``max_end_s`` (the span its queries come from), or
    whole (up to the library's default cap, 20 minutes) where it is null (the ground-truth edition).
    """
    info = layout.read_build()
    max_end = info["config"].get("max_end_s")
    config = LibraryConfig() if max_end is None else LibraryConfig(max_track_s=float(max_end))
    paths = [t.path for t in layout.gallery(split)]
    library = Library.open(layout.library_dir(split), config=config)
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
