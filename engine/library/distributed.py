"""Index a music catalogue on a Ray cluster: shards analysed in parallel, merged into one library.

The driver lists the files, skips those the library already holds unchanged (as
:meth:`Library.add` does), and splits the rest into shards balanced by file size. Each Ray task
analyses its shard into its own lmdb store under a temporary folder on its node and returns
the store's records as bytes (``.npz`` with a JSON header, never pickles). The driver writes
them into the library's store in the order of the file list, so the track ids, paths and arrays
are exactly those of a single-machine run, and then builds one index.

Every node must see the files under the same absolute paths (a shared or mirrored file
system) and have bgmatch installed. Ray is an optional dependency (``pip install
'bgmatch[scale]'``).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .arrays import pack, unpack
from ..errors import ConfigError, LibraryError
from ..progress import CancelFn, ProgressFn
from .facade import Library
from .results import AddReport
from .records import with_user_meta
from .settings import LibraryConfig
from .walk import iter_media_files
from .store import PathRecord, TrackRecord

LOCAL = "local"


@dataclass
class ShardResult:
    """What one task returns: its path records, its tracks as packed bytes, its failures."""

    paths: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # path → (track id, size, mtime_ns)
    tracks: dict[str, bytes] = field(default_factory=dict)  # track id → pack(arrays, meta)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("indexing on a Ray cluster needs Ray: pip install 'bgmatch[scale]'") from None
    return ray


def connect(address: str, *, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address`` (``auto``, ``ray://host:10001``, ``host:6379``).

    ``"local"`` starts a cluster inside this process with ``num_cpus`` workers (default: all
    cores). Does nothing when Ray is already initialised.
    """
    ray = _ray()
    if ray.is_initialized():
        return
    try:
        if address == LOCAL:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"cannot join the Ray cluster at {address!r}: {exc}") from None


def shard_files(files: list[Path], n_shards: int) -> list[list[Path]]:
    """Split ``files`` into at most ``n_shards`` non-empty shards of similar total size (deterministic)."""
    n = max(1, min(n_shards, len(files)))
    sizes = []
    for f in files:
        try:
            sizes.append(f.stat().st_size)
        except OSError:
            sizes.append(0)
    shards: list[list[Path]] = [[] for _ in range(n)]
    loads = [0] * n
    for i in sorted(range(len(files)), key=lambda i: (-sizes[i], i)):
        j = loads.index(min(loads))
        shards[j].append(files[i])
        loads[j] += sizes[i]
    return [s for s in shards if s]


def native_threads() -> dict[str, int]:
    """Threads of this process's native pools by API (``blas``, ``openmp``)."""
    from threadpoolctl import threadpool_info

    out: dict[str, int] = {}
    for pool in threadpool_info():
        out[pool["user_api"]] = max(out.get(pool["user_api"], 0), int(pool["num_threads"]))
    return out


def analyse_shard(paths: list[str], config: LibraryConfig | None = None,
                  threads: dict[str, int] | None = None) -> ShardResult:
    """Analyse ``paths`` into a temporary store and return its records (runs inside a task).

    ``threads`` sets the native thread pools (BLAS, OpenMP) as the driver has them: summation
    order, and so the last bit of a float, depends on it, and Ray starts workers with one thread.
    """
    from threadpoolctl import threadpool_limits

    folder = tempfile.mkdtemp(prefix="bgmatch-shard-")
    try:
        with threadpool_limits(limits=threads), Library.open(folder, config=config) as lib:
            report = lib.add(paths)
            result = ShardResult(failed=report.failed)
            for path, record in lib.store.paths().items():
                result.paths[path] = (record.track_id, record.size, record.mtime_ns)
            for rec in lib.store.tracks():
                result.tracks[rec.track_id] = pack(rec.arrays, rec.meta)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _stored_unchanged(lib: Library, path: Path) -> bool:
    known = lib.store.path_record(str(path))
    if known is None or not lib.store.has_track(known.track_id):
        return False
    st = path.stat()
    if (known.size, known.mtime_ns) != (st.st_size, st.st_mtime_ns):
        return False
    return lib.is_current(known.track_id)


def _merge(lib: Library, todo: list[Path], results: list[ShardResult], report: AddReport) -> None:
    """Write the shards' records into ``lib`` in the order of ``todo``, as one machine would have.

    A track's record comes from the shard of its first path in ``todo``: that shard analysed it
    under that path, as a single run would.
    """
    owner = {path: r for r in results for path in r.paths}
    failures = {path: message for r in results for path, message in r.failed}
    for path in map(str, todo):
        if path in failures:
            report.failed.append((path, failures[path]))
            continue
        if path not in owner:
            report.failed.append((path, f"{path}: no result came back from the cluster"))
            continue
        track_id, size, mtime_ns = owner[path].paths[path]
        record = PathRecord(track_id, size, mtime_ns)
        if lib.is_current(track_id):
            lib.store.put(path, record)
            report.unchanged.append(path)
        else:
            arrays, meta = unpack(owner[path].tracks[track_id])
            lib.store.put(path, record, with_user_meta(TrackRecord(track_id, meta, arrays), lib.store))
            report.added.append(path)


def add_with_ray(lib: Library, paths: Iterable[str | os.PathLike[str]], *, address: str = "auto",
                 n_shards: int | None = None, num_cpus: int | None = None, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> AddReport:
    """Like :meth:`Library.add`, with the analysis spread over the Ray cluster at ``address``.

    ``n_shards`` defaults to twice the cluster's CPUs; ``num_cpus`` sizes a ``"local"`` cluster.
    Returns the same :class:`AddReport` a single-machine run gives.
    """
    ray = _ray()
    report = AddReport()
    with lib.writing():
        todo: list[Path] = []
        for f in iter_media_files(paths, errors=report.failed):
            path = f.absolute()
            try:
                if _stored_unchanged(lib, path):
                    report.unchanged.append(str(path))
                    continue
            except OSError as exc:
                report.failed.append((str(path), f"{path}: {exc.strerror or exc}"))
                continue
            todo.append(path)
        if todo:
            connect(address, num_cpus=num_cpus)
            cpus = int(ray.cluster_resources().get("CPU", 1))
            shards = shard_files(todo, n_shards or 2 * cpus)
            task = ray.remote(num_cpus=1, max_retries=2)(analyse_shard)
            config = lib.config
            threads = native_threads()
            pending = {task.remote([str(p) for p in s], config, threads): len(s) for s in shards}
            results: list[ShardResult] = []
            done = 0
            while pending:
                if cancel is not None and cancel():
                    for ref in pending:
                        ray.cancel(ref, force=True)
                    report.cancelled = True
                    return report
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in ready:
                    try:
                        results.append(ray.get(ref))
                    except ray.exceptions.RayError as exc:
                        raise LibraryError(f"a shard failed on the Ray cluster: {_first_line(exc)}") from None
                    done += pending.pop(ref)
                    if progress is not None:
                        progress(done, len(todo), "")
            _merge(lib, todo, results, report)
        if report.added:
            lib.index()
    return report


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__

