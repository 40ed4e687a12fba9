"""Which files of the paths a user names are music: files named directly, and files with an
audio extension under named folders."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

AUDIO_EXTENSIONS = frozenset({".ogg", ".oga", ".opus", ".mp3", ".flac", ".wav", ".m4a", ".aac", ".aif", ".aiff", ".wma"})


def iter_media_files(paths: Iterable[str | os.PathLike[str]], *, extensions: frozenset[str] = AUDIO_EXTENSIONS,
                     errors: list[tuple[str, str]] | None = None) -> Iterator[Path]:
    """Files named directly, and files with a known extension under named folders (recursively).

    Symbolic links to folders are not followed (no loops); unreadable folders are reported in
    ``errors`` as (path, message) and skipped.
    """
    def onerror(exc: OSError) -> None:
        if errors is not None:
            errors.append((str(exc.filename), f"{exc.filename}: cannot read folder ({exc.strerror})"))

    for p in map(Path, paths):
        if p.is_dir():
            for root, dirs, files in os.walk(p, onerror=onerror, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    f = Path(root) / name
                    if f.suffix.lower() in extensions:
                        yield f
        else:
            yield p
