"""The prepared data set on disk: one lmdb environment of decoded features plus a JSON manifest.

``features.lmdb`` holds six databases, keyed by id (UTF-8):

- ``video``: ``frames`` uint8 [n_clips, frames_per_clip, S, S], ``flow_tokens`` int64 [n_clips]
- ``motion``: the video's motion analysis (``times_s``, ``motion``, ``cut_times_s``), from which
  its periodicity features are computed (``engine.periodicity``)
- ``music``: ``log_mel`` float16 [T, n_mels], the rhythm analysis (``onset_envelope``, ``rms``,
  ``beat_times_s``, ``scalars``), ``descriptors`` float32 [n_clips, 6], ``track_descriptor`` [6]
- ``text``: ``embedding`` float32 [text_dim] under ``tags:<video_id>`` (human tags + top tagger
  tags) and ``pseudo:<music_id>``
- ``items``: JSON ``{"music_id", "split", "tags"}`` per video id
- ``tags``: ``probs`` float32 [n_clips, n_tags] per training video id: the musicnn tagger's
  probabilities of the music clips the video was cut to (meta: the tag names, the tagger and
  ``TAGS_VERSION``; a record of another version or tagger is made again)

Array values are ``np.savez`` bytes read back with ``allow_pickle=False`` (``engine.arrays``);
nothing is ever pickled. ``manifest.json`` holds the feature config, splits, galleries, target
vocabularies and the failures of the last preparation.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lmdb
import numpy as np

from bgmatch.engine.library.arrays import pack, unpack
from bgmatch.engine.errors import BgmatchError

PREPARED_FORMAT = "bgmatch-prepared"
PREPARED_VERSION = 2  # 2: the tagger's tags of the training pairs (``tags``)
DATABASES = ("video", "motion", "music", "text", "items", "tags")


class PreparedError(BgmatchError):
    """The prepared data folder is missing, incomplete or of another format."""


class PreparedStore:
    """Read/write access to a prepared data folder. Close it (or use ``with``) when done."""

    def __init__(self, folder: str | os.PathLike[str], *, readonly: bool = True, map_size: int = 1 << 38) -> None:
        self.folder = Path(folder)
        lmdb_path = self.folder / "features.lmdb"
        if readonly and not lmdb_path.is_dir():
            raise PreparedError(f"{self.folder}: no prepared data here (run `bgmatch train prepare CONFIG`)")
        if not readonly:
            lmdb_path.mkdir(parents=True, exist_ok=True)
        try:
            self.env = lmdb.open(str(lmdb_path), map_size=map_size, max_dbs=len(DATABASES), readonly=readonly,
                                 lock=not readonly, readahead=False, subdir=True)
        except lmdb.Error as error:
            raise PreparedError(f"{lmdb_path}: cannot open ({error})") from None
        self._dbs = {}
        for name in DATABASES:
            try:
                self._dbs[name] = self.env.open_db(name.encode(), create=not readonly)
            except lmdb.NotFoundError:  # read-only, prepared before this database existed
                pass

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> "PreparedStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- values -----------------------------------------------------------------------------
    def has(self, db: str, key: str) -> bool:
        if db not in self._dbs:
            return False
        with self.env.begin(db=self._dbs[db]) as txn:
            return txn.get(key.encode()) is not None

    def put_arrays(self, db: str, key: str, arrays: dict[str, np.ndarray], meta: dict[str, Any] | None = None) -> None:
        """Store named numeric arrays (object arrays are refused) and a JSON-able ``meta``."""
        for name, value in arrays.items():
            if value.dtype.hasobject:
                raise ValueError(f"{db}/{key}: array {name!r} has dtype object; only numeric arrays are stored")
        self._put(db, key, pack(arrays, meta))

    def get_arrays(self, db: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        raw = self._get(db, key)
        return unpack(raw)

    def put_json(self, db: str, key: str, value: Any) -> None:
        self._put(db, key, json.dumps(value, sort_keys=True).encode())

    def get_json(self, db: str, key: str) -> Any:
        return json.loads(self._get(db, key))

    def keys(self, db: str) -> list[str]:
        if db not in self._dbs:
            return []
        with self.env.begin(db=self._dbs[db]) as txn:
            return [k.decode() for k in txn.cursor().iternext(keys=True, values=False)]

    def raw_items(self) -> Iterator[tuple[str, str, bytes]]:
        """Every stored (database, key, value bytes)."""
        for db, handle in self._dbs.items():
            with self.env.begin(db=handle) as txn:
                for key, value in txn.cursor():
                    yield db, key.decode(), bytes(value)

    def delete(self, db: str, key: str) -> None:
        with self.env.begin(write=True, db=self._dbs[db]) as txn:
            txn.delete(key.encode())

    def _put(self, db: str, key: str, value: bytes) -> None:
        with self.env.begin(write=True, db=self._dbs[db]) as txn:
            txn.put(key.encode(), value)

    def _get(self, db: str, key: str) -> bytes:
        if db not in self._dbs:
            raise PreparedError(f"{self.folder}: no {db} records (prepared by an older bgmatch); "
                                f"run prepare again: it keeps what is there and adds them")
        with self.env.begin(db=self._dbs[db]) as txn:
            raw = txn.get(key.encode())
        if raw is None:
            raise PreparedError(f"{self.folder}: no {db} record {key!r}")
        return bytes(raw)

    # -- manifest ---------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"

    def read_manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            raise PreparedError(f"{self.folder}: preparation did not finish (no manifest.json); run prepare again") from None
        except ValueError as error:
            raise PreparedError(f"{self.manifest_path}: invalid JSON ({error})") from None
        if manifest.get("format") != PREPARED_FORMAT or manifest.get("format_version", 0) > PREPARED_VERSION:
            raise PreparedError(f"{self.manifest_path}: not a bgmatch prepared data manifest of a known version")
        return manifest

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        manifest = {"format": PREPARED_FORMAT, "format_version": PREPARED_VERSION, **manifest}
        temporary = self.manifest_path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(temporary, self.manifest_path)
