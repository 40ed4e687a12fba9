"""faiss index over per-window vectors of the library's tracks, saved beside the store.

Flat inner-product search for small libraries; HNSW past ``hnsw_above`` vectors. Uses the GPU
when faiss was built with it and a device is visible. Saved by writing a temporary file and
renaming it, so readers never see a partial index.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .errors import LibraryError


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
        """Write ``index.faiss`` and ``index.json`` into ``folder`` atomically."""
        folder = Path(folder)
        tmp_index = folder / "index.faiss.tmp"
        tmp_meta = folder / "index.json.tmp"
        faiss.write_index(self.index, str(tmp_index))
        with open(tmp_meta, "w", encoding="utf-8") as f:
            json.dump({"generation": self.generation, "track_ids": self.track_ids,
                       "starts_s": self.starts_s.tolist()}, f)
            f.flush()
            os.fsync(f.fileno())
        # The index is only valid with its row table: the table is renamed last and names the
        # generation, so a reader that finds them out of step rebuilds.
        os.replace(tmp_index, folder / "index.faiss")
        os.replace(tmp_meta, folder / "index.json")

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> "WindowIndex | None":
        """Load a saved index, or None when absent or inconsistent (the caller rebuilds)."""
        folder = Path(folder)
        try:
            with open(folder / "index.json", encoding="utf-8") as f:
                meta = json.load(f)
            index = faiss.read_index(str(folder / "index.faiss"))
        except (OSError, ValueError, RuntimeError):
            return None
        if index.ntotal != len(meta.get("track_ids", [])):
            return None
        return cls(index, meta["track_ids"], np.asarray(meta["starts_s"], np.float32), int(meta["generation"]))


def require_dim(index: WindowIndex, dim: int) -> None:
    """Raise when a query dimension does not match the index."""
    if index.index.ntotal and index.index.d != dim:
        raise LibraryError(f"index dimension {index.index.d} does not match query dimension {dim}; re-index")
