"""lmdb feature store: per track (keyed by content hash) its analysis; per path its hash; per
model version and track the learned music embeddings.

Writes are lmdb transactions, so a crash never leaves a half-written record, and several
processes may read while one writes.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import lmdb
import numpy as np

from .arrays import pack, unpack
from ..errors import LibraryError

STORE_FORMAT_VERSION = 1
_HASH_CHUNK = 1 << 20


class StoreWriteError(LibraryError):
    """The store could not be written (disk full, file size limit, read-only medium)."""


def _unpack(key: str, raw: bytes, path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        return unpack(raw)
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise LibraryError(f"{path}: record {key} is corrupt ({exc}); re-index its file") from None


def content_hash(path: str | os.PathLike[str]) -> str:
    """BLAKE2b-128 hex digest of a file's bytes."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class PathRecord:
    """What the store remembers about a file path: its content hash at a size and mtime."""

    track_id: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class TrackRecord:
    """A stored track: metadata and named arrays."""

    track_id: str
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]


class FeatureStore:
    """The lmdb database of a library (``store.lmdb``)."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False, map_size: int = 1 << 36) -> None:
        self.path = Path(path)
        try:
            if not readonly:
                self.path.mkdir(parents=True, exist_ok=True)
            self.env = lmdb.open(
                str(self.path), map_size=map_size, max_dbs=8, readonly=readonly, lock=True, subdir=True
            )
        except lmdb.Error as exc:
            raise LibraryError(f"{self.path}: cannot open the feature store ({exc})") from None
        self._tracks = self.env.open_db(b"tracks", create=not readonly)
        self._paths = self.env.open_db(b"paths", create=not readonly)
        self._meta = self.env.open_db(b"meta", create=not readonly)
        try:
            self._embeddings = self.env.open_db(b"embeddings", create=not readonly)
        except lmdb.NotFoundError:  # a read-only store written before embeddings existed
            self._embeddings = None
        version = self.get_meta("format_version")
        if version is None and not readonly:
            self.set_meta("format_version", STORE_FORMAT_VERSION)
        elif version is not None and version > STORE_FORMAT_VERSION:
            raise LibraryError(f"{self.path}: store format {version} is newer than this bgmatch ({STORE_FORMAT_VERSION})")

    def close(self) -> None:
        """Close the database."""
        self.env.close()

    # -- small metadata values -------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        """A JSON value stored under ``key`` in the meta table, or None."""
        with self.env.begin(db=self._meta) as txn:
            raw = txn.get(key.encode())
        return None if raw is None else json.loads(raw)

    @contextmanager
    def _write(self) -> Iterator[lmdb.Transaction]:
        """A write transaction whose failures (disk full, size limit) become :class:`StoreWriteError`."""
        try:
            with self.env.begin(write=True) as txn:
                yield txn
        except lmdb.Error as exc:
            raise StoreWriteError(f"{self.path}: cannot write to the feature store ({exc}); "
                                  "the library is unchanged") from None

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON value in the meta table."""
        with self._write() as txn:
            txn.put(key.encode(), json.dumps(value).encode(), db=self._meta)

    @property
    def generation(self) -> int:
        """Counter bumped by every change to the track set (the index records the one it saw)."""
        return int(self.get_meta("generation") or 0)

    # -- tracks and paths --------------------------------------------------------------------
    def path_record(self, path: str) -> PathRecord | None:
        """The remembered hash of ``path`` (absolute), or None."""
        with self.env.begin(db=self._paths) as txn:
            raw = txn.get(path.encode("utf-8", "surrogateescape"))
        if raw is None:
            return None
        d = json.loads(raw)
        return PathRecord(d["track_id"], d["size"], d["mtime_ns"])

    def has_track(self, track_id: str) -> bool:
        """Whether a track with this content hash is stored."""
        with self.env.begin(db=self._tracks) as txn:
            return txn.get(track_id.encode()) is not None

    def put(self, path: str, record: PathRecord, track: TrackRecord | None = None) -> None:
        """Remember ``path`` → hash and, if given, the track, in one transaction."""
        with self._write() as txn:
            if track is not None:
                txn.put(track.track_id.encode(), pack(track.arrays, track.meta), db=self._tracks)
                gen = int(json.loads(txn.get(b"generation", db=self._meta) or b"0")) + 1
                txn.put(b"generation", str(gen).encode(), db=self._meta)
            txn.put(
                path.encode("utf-8", "surrogateescape"),
                json.dumps({"track_id": record.track_id, "size": record.size, "mtime_ns": record.mtime_ns}).encode(),
                db=self._paths,
            )

    def update_meta(self, track_id: str, **changes: Any) -> None:
        """Change metadata fields of a stored track (e.g. a user's beat-grid correction)."""
        with self._write() as txn:
            raw = txn.get(track_id.encode(), db=self._tracks)
            if raw is None:
                raise LibraryError(f"no track {track_id} in {self.path}")
            arrays, meta = _unpack(track_id, raw, self.path)
            meta.update(changes)
            txn.put(track_id.encode(), pack(arrays, meta), db=self._tracks)
            gen = int(json.loads(txn.get(b"generation", db=self._meta) or b"0")) + 1
            txn.put(b"generation", str(gen).encode(), db=self._meta)

    def get(self, track_id: str) -> TrackRecord:
        """The stored track with this content hash."""
        with self.env.begin(db=self._tracks) as txn:
            raw = txn.get(track_id.encode())
        if raw is None:
            raise LibraryError(f"no track {track_id} in {self.path}")
        arrays, meta = _unpack(track_id, raw, self.path)
        return TrackRecord(track_id, meta, arrays)

    def track_ids(self) -> list[str]:
        """Every stored track's content hash, in key order, without reading the records."""
        with self.env.begin(db=self._tracks) as txn:
            return [key.decode() for key in txn.cursor().iternext(keys=True, values=False)]

    def tracks(self) -> Iterator[TrackRecord]:
        """Every stored track, in key order."""
        with self.env.begin(db=self._tracks) as txn:
            for key, raw in txn.cursor():
                arrays, meta = _unpack(key.decode(), raw, self.path)
                yield TrackRecord(key.decode(), meta, arrays)

    def paths(self) -> dict[str, PathRecord]:
        """Every remembered path."""
        out: dict[str, PathRecord] = {}
        with self.env.begin(db=self._paths) as txn:
            for key, raw in txn.cursor():
                d = json.loads(raw)
                out[key.decode("utf-8", "surrogateescape")] = PathRecord(d["track_id"], d["size"], d["mtime_ns"])
        return out

    # -- learned embeddings (per model version; never bump the generation) -----------------
    @staticmethod
    def _embedding_key(version: str, track_id: str) -> bytes:
        return f"{version}/{track_id}".encode()

    def put_embedding(self, version: str, track_id: str, arrays: dict[str, np.ndarray],
                      meta: dict[str, Any] | None = None) -> None:
        """Store the arrays (and JSON ``meta``) of a track's embedding under a model version."""
        with self._write() as txn:
            txn.put(self._embedding_key(version, track_id), pack(arrays, meta or {}), db=self._embeddings)

    def get_embedding(self, version: str, track_id: str) -> dict[str, np.ndarray] | None:
        """A track's embedding arrays under a model version, or None."""
        found = self.get_embedding_record(version, track_id)
        return None if found is None else found[0]

    def get_embedding_record(self, version: str, track_id: str
                             ) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """A track's (arrays, meta) under a model version, or None."""
        if self._embeddings is None:
            return None
        key = self._embedding_key(version, track_id)
        with self.env.begin(db=self._embeddings) as txn:
            raw = txn.get(key)
        return None if raw is None else _unpack(key.decode(), raw, self.path)

    def embedded_ids(self, version: str) -> set[str]:
        """Ids of the tracks that have an embedding under a model version (keys only)."""
        prefix = f"{version}/".encode()
        out: set[str] = set()
        if self._embeddings is None:
            return out
        with self.env.begin(db=self._embeddings) as txn:
            cursor = txn.cursor()
            if cursor.set_range(prefix):
                for key in cursor.iternext(keys=True, values=False):
                    if not key.startswith(prefix):
                        break
                    out.add(key[len(prefix):].decode())
        return out

    def __len__(self) -> int:
        with self.env.begin(db=self._tracks) as txn:
            return txn.stat(self._tracks)["entries"]
