"""One writer at a time: an flock on ``writer.lock`` in the library folder (readers need none)."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import LibraryError


@contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """Hold the library's writer lock; raise :class:`LibraryError` naming the holder's pid if
    another process has it."""
    lock_path = folder / "writer.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LibraryError(f"{folder}: cannot write to the library ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise LibraryError(f"{folder}: another process (pid {holder}) is adding to this "
                               "library; try again when it has finished") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
