"""Case `ann`: query latency, memory and recall@10 of the window index at 10k–1M tracks.

Synthetic 128-d window embeddings, 4 windows per track, of intrinsic dimension 16 (a random
linear map of Gaussian latents plus 5 % isotropic noise; a track's windows lie near each
other), standing in for learned clip embeddings. Queries are perturbed windows of random
tracks. For each library size the exact flat index is the reference: its single-query latency
and its top-10 (the truth). Each approximate index has its knob (``nprobe``, ``ef_search``)
tuned on one query set to the smallest value reaching recall@10 ≥ 0.95 against flat, then is
measured on another.
"""
from __future__ import annotations

import gc
import statistics
import time

import faiss
import numpy as np

from bgmatch.engine.library.index import IndexConfig, build_faiss_index, index_bytes, recall_at_k, set_search_params

from .context import Context
from .measure import BenchError
from .report import Row

NAME = "ann"
DIM = 128
LATENT_DIM = 16
WINDOWS_PER_TRACK = 4
TARGET_RECALL = 0.95
TARGET_LATENCY_S = 0.010
K = 10
KINDS = {
    "ivf": IndexConfig(kind="ivf"),
    "ivf-fp16": IndexConfig(kind="ivf", storage="float16"),
    "ivfpq": IndexConfig(kind="ivfpq", pq_m=32),
    "hnsw": IndexConfig(kind="hnsw"),
}
_KNOB = {"ivf": "nprobe", "ivfpq": "nprobe", "hnsw": "ef_search"}


def synthetic_windows(n_tracks: int, *, n_queries: int, seed: int = 0, chunk: int = 250_000
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(window vectors ``[n_tracks·4, 128]``, queries ``[n_queries, 128]``), unit rows, float32."""
    rng = np.random.default_rng(seed)
    lift = rng.standard_normal((LATENT_DIM, DIM), dtype=np.float32) / np.sqrt(LATENT_DIM)
    n = n_tracks * WINDOWS_PER_TRACK
    out = np.empty((n, DIM), np.float32)
    latents = np.empty((n, LATENT_DIM), np.float32)
    for a in range(0, n_tracks, chunk):
        b = min(n_tracks, a + chunk)
        track = rng.standard_normal((b - a, LATENT_DIM), dtype=np.float32)
        z = np.repeat(track, WINDOWS_PER_TRACK, axis=0)
        z += 0.25 * rng.standard_normal(z.shape, dtype=np.float32)
        latents[a * WINDOWS_PER_TRACK:b * WINDOWS_PER_TRACK] = z
        x = z @ lift + 0.05 * rng.standard_normal((len(z), DIM), dtype=np.float32)
        out[a * WINDOWS_PER_TRACK:b * WINDOWS_PER_TRACK] = x / np.linalg.norm(x, axis=1, keepdims=True)
    picked = latents[rng.integers(0, n, n_queries)]
    q = (picked + 0.25 * rng.standard_normal(picked.shape, dtype=np.float32)) @ lift
    q += 0.05 * rng.standard_normal(q.shape, dtype=np.float32)
    return out, (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def single_query_latency_s(index, queries: np.ndarray) -> tuple[float, np.ndarray]:
    """Median seconds of one-query searches over ``queries`` on one thread, and the rows found ``[Q, K]``.

    One thread, as a user's query is served: faiss's OpenMP team costs more than it saves on
    a single query, and on a busy machine its spinning threads distort the timing.
    """
    times, found = [], []
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        for q in queries:
            t = time.perf_counter()
            _, rows = index.search(q[None], K)
            times.append(time.perf_counter() - t)
            found.append(rows[0])
    finally:
        faiss.omp_set_num_threads(threads)
    return statistics.median(times), np.stack(found)


def tune(index, kind: str, queries: np.ndarray, truth: np.ndarray) -> int | None:
    """Smallest knob value (powers of two) reaching :data:`TARGET_RECALL` on ``queries``.

    When recall stops rising first (a quantised index's ceiling), the value where it stopped.
    """
    knob = _KNOB.get(kind.split("-")[0])
    if knob is None:
        return None
    limit = getattr(index, "nlist", 4096)
    value, previous = 1, -1.0
    while True:
        set_search_params(index, **{knob: value})
        _, found = index.search(queries, K)
        recall = recall_at_k(found, truth, K)
        if recall >= TARGET_RECALL or value >= limit:
            return value
        if recall - previous < 0.002:
            set_search_params(index, **{knob: value // 2})
            return value // 2
        value, previous = value * 2, recall


def _size_rows(n_tracks: int, *, quick: bool, say, kinds: tuple[str, ...] | None = None) -> list[Row]:
    n_lat = 100 if n_tracks < 1_000_000 else 40
    vectors, queries = synthetic_windows(n_tracks, n_queries=400 + n_lat, seed=n_tracks)
    tune_q, eval_q = queries[:200], queries[200:400]
    flat, _ = build_faiss_index(vectors, IndexConfig(kind="flat"))
    _, truth = flat.search(queries[:400], K)
    flat_latency, _ = single_query_latency_s(flat, queries[400:400 + (20 if n_tracks >= 1_000_000 else n_lat)])
    flat_bytes = index_bytes(flat)
    del flat
    gc.collect()
    rows = []
    for kind, config in KINDS.items():
        if (kinds is not None and kind not in kinds) or (kinds is None and quick and kind in ("ivf-fp16", "ivfpq")):
            continue
        say(f"ann: {n_tracks:,} tracks, building {kind} …")
        t = time.perf_counter()
        index, info = build_faiss_index(vectors, config)
        build_s = time.perf_counter() - t
        value = tune(index, kind, tune_q, truth[:200])
        _, found = index.search(eval_q, K)
        recall = recall_at_k(found, truth[200:400], K)
        latency, _ = single_query_latency_s(index, queries[400:400 + n_lat])
        knob = f"{_KNOB[kind.split('-')[0]]}={value}" if value is not None else ""
        params = ", ".join(p for p in (f"nlist={info['nlist']}" if "nlist" in info else "", knob) if p)
        big = n_tracks >= 1_000_000
        rows.append(Row(
            case=NAME, what=f"{n_tracks:,} tracks ×{WINDOWS_PER_TRACK} windows, {kind} ({params})",
            ours=latency, reference=flat_latency, unit="s",
            ours_label=f"recall@10 {recall:.3f}, {info['bytes'] / 2**20:.0f} MiB",
            reference_label=f"flat, {flat_bytes / 2**20:.0f} MiB",
            target="<10 ms at recall ≥0.95" if big else "",
            met=(latency < TARGET_LATENCY_S and recall >= TARGET_RECALL) if big else None,
            note=f"build {build_s:.0f} s",
            extra={"recall_at_10": recall, "bytes": info["bytes"], "flat_bytes": flat_bytes, "build_s": build_s,
                   "knob": value, **{k: v for k, v in info.items() if k != "bytes"}},
        ))
        say(f"ann: {rows[-1].what}: {rows[-1].ours * 1e3:.3f} ms, {rows[-1].ours_label} "
            f"(flat {flat_latency * 1e3:.1f} ms), {rows[-1].note}")
        del index
        gc.collect()
    return rows


def run(ctx: Context, *, sizes: tuple[int, ...] | None = None, kinds: tuple[str, ...] | None = None) -> list[Row]:
    """Rows for each library size (10k tracks with ``--quick``, else 10k, 100k and 1M) and index kind
    (``kinds``, default all of :data:`KINDS`; ``--quick`` leaves out float16 and PQ)."""
    if sizes is None:
        sizes = (10_000,) if ctx.quick else (10_000, 100_000, 1_000_000)
    unknown = set(kinds or ()) - set(KINDS)
    if unknown:
        raise BenchError(f"unknown index kind {sorted(unknown)[0]!r}; known: {', '.join(KINDS)}")
    rows: list[Row] = []
    for n in sizes:
        rows += _size_rows(n, quick=ctx.quick, say=ctx.log, kinds=kinds)
    return rows
