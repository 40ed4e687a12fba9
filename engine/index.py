"""faiss index over per-window vectors of the library's tracks, saved beside the store.

Flat inner-product search for small libraries; HNSW past ``hnsw_above`` vectors. Uses the GPU
when faiss was built with it and a device is visible. Saved as one file written under a
temporary name and renamed, so readers never see a partial index.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .errors import LibraryError

INDEX_FILE = "index.npz"


@dataclass(frozen=True)
class IndexConfig:
    """How the window index is built."""

    hnsw_above: int = 200_000  # vectors; below this, exact flat search
    hnsw_m: int = 32
    hnsw_ef_search: int = 128
    use_gpu: bool | None = None  # None: when available


def gpu_available() -> bool:
    """Whether faiss has GPU support and sees a device."""
    return hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0


class WindowIndex:
    """Vectors of track windows, with each row's track id and window start (s)."""

    def __init__(
        self, index: faiss.Index, track_ids: list[str], starts_s: np.ndarray, generation: int,
        *, use_gpu: bool | None = None,
    ) -> None:
        self.index = index
        self.use_gpu = use_gpu
        self.track_ids = track_ids
        self.starts_s = starts_s
        self.generation = generation

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        track_ids: list[str],
        starts_s: np.ndarray,
        *,
        generation: int,
        config: IndexConfig = IndexConfig(),
    ) -> "WindowIndex":
        """Build from ``vectors`` ``[N, D]`` float32 (L2-normalised rows)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        d = vectors.shape[1] if vectors.ndim == 2 else 0
        if len(vectors) >= config.hnsw_above:
            index = faiss.IndexHNSWFlat(d, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = config.hnsw_ef_search
        else:
            index = faiss.IndexFlatIP(max(d, 1))
        if len(vectors):
            index.add(vectors)
        return cls(index, list(track_ids), np.asarray(starts_s, np.float32), generation, use_gpu=config.use_gpu)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows per query: (scores ``[Q, k]``, row ids ``[Q, k]``, -1 where fewer)."""
        k = min(k, self.index.ntotal)
        if k == 0:
            q = len(queries)
            return np.zeros((q, 0), np.float32), np.zeros((q, 0), np.int64)
        index = self.index
        if self.use_gpu is not False and gpu_available() and isinstance(index, faiss.IndexFlat):
            index = faiss.index_cpu_to_all_gpus(index)
        return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)

    def save(self, folder: str | os.PathLike[str]) -> None:
        """Write ``index.npz`` (the faiss index with its row table) into ``folder`` atomically.

        One file holds both, written under a unique temporary name and renamed, so a reader
        never pairs an index with another generation's rows and two writers never collide.
        """
        folder = Path(folder)
        data = {
            "faiss": faiss.serialize_index(self.index),
            "track_ids": np.asarray(self.track_ids, dtype=np.str_),
            "starts_s": self.starts_s,
            "generation": np.asarray(self.generation, np.int64),
        }
        fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".npz.tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, folder / INDEX_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> "WindowIndex | None":
        """Load a saved index, or None when absent or unreadable (the caller rebuilds)."""
        try:
            with np.load(Path(folder) / INDEX_FILE, allow_pickle=False) as z:
                index = faiss.deserialize_index(z["faiss"])
                track_ids = [str(t) for t in z["track_ids"]]
                starts_s = z["starts_s"].astype(np.float32)
                generation = int(z["generation"])
        except (OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile):
            return None
        if index.ntotal != len(track_ids):
            return None
        return cls(index, track_ids, starts_s, generation)


def require_dim(index: WindowIndex, dim: int) -> None:
    """Raise when a query dimension does not match the index."""
    if index.index.ntotal and index.index.d != dim:
        raise LibraryError(f"index dimension {index.index.d} does not match query dimension {dim}; re-index")
