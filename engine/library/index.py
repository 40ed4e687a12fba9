"""faiss index over per-window vectors of the library's tracks, saved beside the store.

Kinds (``IndexConfig.kind``):

- ``flat``: exact inner-product search; memory ``4·d`` bytes per vector (``2·d`` as float16).
- ``hnsw``: graph search (HNSW); about ``4·d + 8·M`` bytes per vector; no training; CPU only.
- ``ivf``: inverted lists over ``nlist`` k-means cells, ``nprobe`` cells searched per query;
  ``4·d + 8`` bytes per vector (``2·d + 8`` as float16); runs on the GPU.
- ``ivfpq``: IVF with product-quantised codes of ``pq_m`` bytes per vector (memory-bounded,
  lossy: re-ranking with exact vectors is the caller's choice); runs on the GPU.
- ``auto`` (default): flat below ``hnsw_above`` vectors; above it HNSW on the CPU, IVF when
  the GPU is used (faiss has no GPU HNSW).

The GPU is used when ``use_gpu`` is True, or is None (default) and faiss has GPU support and
sees a device. The index is saved as one file written under a temporary name and renamed, so
readers never see a partial index; the searcher copied to the GPU is cached per process.
"""
from __future__ import annotations

import math
import os
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal

import faiss
import numpy as np

from ..errors import ConfigError, LibraryError

INDEX_FILE = "index.npz"
IndexKind = Literal["auto", "flat", "hnsw", "ivf", "ivfpq"]
Storage = Literal["float32", "float16"]
_GPU_KINDS = (faiss.IndexFlat, faiss.IndexIVFFlat, faiss.IndexIVFPQ, faiss.IndexIVFScalarQuantizer)
#: Batches smaller than this are searched on one OpenMP thread (see :func:`omp_threads`).
FEW_QUERIES = 16


@dataclass(frozen=True)
class IndexConfig:
    """How the window index is built and searched."""

    kind: IndexKind = "auto"
    hnsw_above: int = 200_000  # vectors; ``auto`` uses exact flat search below this
    storage: Storage = "float32"  # vector storage of flat, hnsw and ivf ("float16" halves it)
    hnsw_m: int = 32  # graph degree
    hnsw_ef_construction: int = 40
    hnsw_ef_search: int = 128
    ivf_nlist: int = 0  # k-means cells; 0: 4·√N, at least 1 and at most N / 39
    ivf_nprobe: int = 32  # cells searched per query
    ivf_train_size: int = 0  # vectors k-means sees; 0: 40 per cell (at most N)
    ivf_iterations: int = 10  # k-means iterations
    pq_m: int = 0  # bytes per vector of ``ivfpq``; 0: d / 4 (must divide d)
    pq_bits: int = 8
    seed: int = 0  # k-means initialisation and training sample
    use_gpu: bool | None = None  # None: when available


def gpu_available() -> bool:
    """Whether faiss has GPU support and sees a device."""
    return hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0


def _wants_gpu(use_gpu: bool | None) -> bool:
    if use_gpu and not gpu_available():
        raise ConfigError("use_gpu=True, but faiss has no GPU support or sees no device (install faiss-gpu)")
    return gpu_available() if use_gpu is None else use_gpu


def resolve_kind(n_vectors: int, config: IndexConfig) -> str:
    """The concrete index kind ``config`` gives for ``n_vectors`` vectors."""
    if config.kind != "auto":
        return config.kind
    if n_vectors < config.hnsw_above:
        return "flat"
    return "ivf" if _wants_gpu(config.use_gpu) else "hnsw"


def ivf_nlist(n_vectors: int, config: IndexConfig) -> int:
    """Number of IVF cells for ``n_vectors``: ``config.ivf_nlist`` or 4·√N, within [1, N/39]."""
    nlist = config.ivf_nlist or int(4 * math.sqrt(max(n_vectors, 1)))
    return int(max(1, min(nlist, n_vectors // 39)))


def _new_index(kind: str, d: int, n_vectors: int, config: IndexConfig) -> faiss.Index:
    ip = faiss.METRIC_INNER_PRODUCT
    fp16 = config.storage == "float16"
    if config.storage not in ("float32", "float16"):
        raise ConfigError(f"unknown index storage {config.storage!r}; use float32 or float16")
    if kind == "flat":
        return faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16, ip) if fp16 else faiss.IndexFlatIP(d)
    if kind == "hnsw":
        if fp16:
            index = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_fp16, config.hnsw_m, ip)
        else:
            index = faiss.IndexHNSWFlat(d, config.hnsw_m, ip)
        index.hnsw.efConstruction = config.hnsw_ef_construction
        index.hnsw.efSearch = config.hnsw_ef_search
        return index
    if kind in ("ivf", "ivfpq"):
        nlist = ivf_nlist(n_vectors, config)
        quantizer = faiss.IndexFlatIP(d)
        if kind == "ivfpq":
            m = config.pq_m or max(1, d // 4)
            if d % m:
                raise ConfigError(f"pq_m {m} must divide the vector dimension {d}")
            index = faiss.IndexIVFPQ(quantizer, d, nlist, m, config.pq_bits, ip)
        elif fp16:
            index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_fp16, ip)
        else:
            index = faiss.IndexIVFFlat(quantizer, d, nlist, ip)
        index.own_fields = True
        quantizer.this.disown()
        index.cp.seed = config.seed
        index.cp.niter = config.ivf_iterations
        index.nprobe = min(config.ivf_nprobe, nlist)
        return index
    raise ConfigError(f"unknown index kind {kind!r}; known: auto, flat, hnsw, ivf, ivfpq")


def _train(index: faiss.Index, vectors: np.ndarray, config: IndexConfig) -> None:
    if index.is_trained:
        return
    want = config.ivf_train_size or 40 * getattr(index, "nlist", 1)
    if len(vectors) > want:
        rows = np.sort(np.random.default_rng(config.seed).choice(len(vectors), size=want, replace=False))
        sample = vectors[rows]
    else:
        sample = vectors
    index.train(sample)


def build_faiss_index(vectors: np.ndarray, config: IndexConfig = IndexConfig()) -> tuple[faiss.Index, dict[str, Any]]:
    """Build and fill a CPU faiss index over ``vectors`` ``[N, D]`` float32 (L2-normalised rows).

    Returns the index and an info dict (kind, vectors, dim, bytes and the search parameters),
    in the manner of autofaiss's ``build_index``.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    d = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
    kind = resolve_kind(n, config)
    if kind in ("ivf", "ivfpq") and n == 0:
        kind = "flat"  # nothing to train cells on
    index = _new_index(kind, d, n, config)
    if n:
        _train(index, vectors, config)
        index.add(vectors)
    return index, index_info(index)


def index_kind(index: faiss.Index) -> str:
    """The kind (``flat``, ``hnsw``, ``ivf``, ``ivfpq``) of a CPU faiss index."""
    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVFPQ):
        return "ivfpq"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


def index_bytes(index: faiss.Index) -> int:
    """Size of the serialised index in bytes (its memory footprint, counted without a copy)."""
    total = 0

    def count(chunk: bytes) -> int:
        nonlocal total
        total += len(chunk)
        return len(chunk)

    faiss.write_index(index, faiss.PyCallbackIOWriter(count))
    return total


def index_info(index: faiss.Index) -> dict[str, Any]:
    """Kind, size and search parameters of a CPU faiss index."""
    index = faiss.downcast_index(index)
    info: dict[str, Any] = {"kind": index_kind(index), "vectors": int(index.ntotal), "dim": int(index.d),
                            "bytes": index_bytes(index)}
    if isinstance(index, faiss.IndexHNSW):
        info.update(hnsw_m=int(index.hnsw.nb_neighbors(1)), ef_search=int(index.hnsw.efSearch))
    if isinstance(index, faiss.IndexIVF):
        info.update(nlist=int(index.nlist), nprobe=int(index.nprobe))
    return info


def set_search_params(index: faiss.Index, *, nprobe: int | None = None, ef_search: int | None = None) -> None:
    """Set the speed/recall knob of an IVF (``nprobe``) or HNSW (``ef_search``) index in place."""
    index = faiss.downcast_index(index)
    if nprobe is not None and isinstance(index, faiss.IndexIVF):
        index.nprobe = int(min(nprobe, index.nlist))
    if ef_search is not None and isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = int(ef_search)


@contextmanager
def omp_threads(n: int) -> Iterator[None]:
    """Run faiss with ``n`` OpenMP threads inside the block, then restore the previous count.

    A query or two gain nothing from a thread team, and on a busy machine the team's
    spin-waiting makes a flat search of 40k vectors 80× slower (44 ms against 0.5 ms measured
    here on 2 cores with other work running).
    """
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean share of each query's true top-``k`` rows (``truth`` ``[Q, ≥k]``) in ``found[:, :k]``."""
    hits = [len(set(f[:k].tolist()) & set(t[:k].tolist()) - {-1}) for f, t in zip(found, truth)]
    return float(np.mean(hits) / k) if hits else 1.0


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
        self._searcher: faiss.Index | None = None

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
        """Build from ``vectors`` ``[N, D]`` float32 (L2-normalised rows) with ``config``."""
        index, _ = build_faiss_index(vectors, config)
        return cls(index, list(track_ids), np.asarray(starts_s, np.float32), generation, use_gpu=config.use_gpu)

    @property
    def info(self) -> dict[str, Any]:
        """Kind, size and search parameters (see :func:`index_info`)."""
        return {**index_info(self.index), "gpu": self._searcher is not None and self._searcher is not self.index}

    def _search_index(self) -> faiss.Index:
        """The index to search: a GPU copy (made once) when wanted and supported, else the CPU one."""
        if self._searcher is None:
            self._searcher = self.index
            if isinstance(self.index, _GPU_KINDS) and _wants_gpu(self.use_gpu):
                self._searcher = faiss.index_cpu_to_all_gpus(self.index)
        return self._searcher

    def set_search_params(self, *, nprobe: int | None = None, ef_search: int | None = None) -> None:
        """Change ``nprobe`` (IVF) or ``ef_search`` (HNSW); a GPU copy is made again on next search."""
        set_search_params(self.index, nprobe=nprobe, ef_search=ef_search)
        self._searcher = None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows per query: (scores ``[Q, k]``, row ids ``[Q, k]``, -1 where fewer)."""
        k = min(k, self.index.ntotal)
        if k == 0:
            q = len(queries)
            return np.zeros((q, 0), np.float32), np.zeros((q, 0), np.int64)
        searcher = self._search_index()
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if searcher is self.index and len(queries) < FEW_QUERIES:
            with omp_threads(1):
                return searcher.search(queries, k)
        return searcher.search(queries, k)

    def save(self, folder: str | os.PathLike[str]) -> None:
        """Write ``index.npz`` (the faiss index with its row table) into ``folder`` atomically.

        One file holds both, written under a unique temporary name and renamed, so a reader
        never pairs an index with another generation's rows and two writers never collide. The
        faiss index is streamed into the file, never held as a second copy in memory; each
        row's track is stored as a number into the table of distinct track ids.
        """
        folder = Path(folder)
        table, rows = np.unique(np.asarray(self.track_ids, dtype=np.str_), return_inverse=True)
        arrays = {"track_table": table, "track_rows": rows.astype(np.int32), "starts_s": self.starts_s,
                  "generation": np.asarray(self.generation, np.int64)}
        fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".npz.tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
                    size = index_bytes(self.index)
                    with z.open("faiss.npy", "w", force_zip64=size > 2**31) as member:
                        np.lib.format.write_array_header_2_0(
                            member, {"descr": "|u1", "fortran_order": False, "shape": (size,)})
                        faiss.write_index(self.index, faiss.PyCallbackIOWriter(member.write))
                    for name, array in arrays.items():
                        with z.open(f"{name}.npy", "w", force_zip64=array.nbytes > 2**30) as member:
                            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, folder / INDEX_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, use_gpu: bool | None = None) -> "WindowIndex | None":
        """Load a saved index, or None when absent or unreadable (the caller rebuilds).

        The faiss index is read straight from the file (no intermediate copy of its bytes).
        """
        path = Path(folder) / INDEX_FILE
        try:
            with zipfile.ZipFile(path) as z:
                with z.open("faiss.npy") as member:
                    version = np.lib.format.read_magic(member)
                    if version == (1, 0):
                        np.lib.format.read_array_header_1_0(member)
                    else:
                        np.lib.format.read_array_header_2_0(member)
                    index = faiss.read_index(faiss.PyCallbackIOReader(member.read))
            with np.load(path, allow_pickle=False) as z:
                if "track_table" in z.files:
                    table = [str(t) for t in z["track_table"]]
                    track_ids = [table[i] for i in z["track_rows"]]
                else:  # written before the table of distinct ids
                    track_ids = [str(t) for t in z["track_ids"]]
                starts_s = z["starts_s"].astype(np.float32)
                generation = int(z["generation"])
        except (OSError, ValueError, KeyError, IndexError, RuntimeError, zipfile.BadZipFile):
            return None
        if index.ntotal != len(track_ids):
            return None
        return cls(index, track_ids, starts_s, generation, use_gpu=use_gpu)


def require_dim(index: WindowIndex, dim: int) -> None:
    """Raise when a query dimension does not match the index."""
    if index.index.ntotal and index.index.d != dim:
        raise LibraryError(f"index dimension {index.index.d} does not match query dimension {dim}; re-index")
