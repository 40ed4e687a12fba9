"""A track's waveform for drawing: min/max peaks at a fine base resolution, reduced to a view's.

:func:`waveform_of` turns samples into peaks (the min and max of each block of
:data:`BLOCK_SAMPLES` samples at :data:`WAVEFORM_SR_HZ`, i.e. 4 ms); :meth:`Waveform.envelope`
reduces them to one min/max pair per pixel column of a view. :func:`load_waveform` decodes a
file with PyAV (``media.decode_audio``) and keeps the last few in memory, keyed by the file's
path, size and modification time, so redrawing or zooming never decodes again.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MediaError
from . import media

#: Decoding rate of a waveform (Hz): enough to see every transient; 8 kHz decodes fast.
WAVEFORM_SR_HZ = 8000
#: Samples per peak at that rate: 250 peaks per second, finer than any timeline needs.
BLOCK_SAMPLES = 32
#: Waveforms kept in memory (one per track; a 5-minute track's peaks take 600 kB).
CACHE_SIZE = 16


@dataclass(frozen=True)
class Waveform:
    """Min/max peaks of a mono mix: ``lo[k]``, ``hi[k]`` over the ``k``-th block of
    ``1 / peak_rate_hz`` seconds (sample values, −1…1)."""

    duration_s: float
    peak_rate_hz: float
    lo: np.ndarray  # [P] float32
    hi: np.ndarray  # [P] float32

    @property
    def peak(self) -> float:
        """Largest absolute sample value (0 for silence)."""
        if len(self.lo) == 0:
            return 0.0
        return float(max(-self.lo.min(), self.hi.max(), 0.0))

    def envelope(self, *, start_s: float, end_s: float, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(times_s, lo, hi)``, each ``[N]`` with ``N ≤ bins``: the min and max of the samples in
        each of ``bins`` equal columns of ``start_s … end_s`` (track seconds), at the column's
        centre time. Columns outside the track are left out; a column narrower than one peak
        takes the peak it lies in."""
        n = len(self.lo)
        if bins < 1 or end_s <= start_s or n == 0:
            empty = np.zeros(0, np.float32)
            return empty.astype(np.float64), empty, empty
        edges = np.linspace(start_s, end_s, bins + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        # (the epsilon: an edge on a peak boundary, 2.08 s · 250 Hz = 519.99…, starts at that peak)
        first = np.floor(edges[:-1] * self.peak_rate_hz + 1e-6).astype(np.int64)
        inside = (first < n) & (edges[1:] > 0)
        first = np.clip(first[inside], 0, n - 1)
        if len(first) == 0:
            empty = np.zeros(0, np.float32)
            return empty.astype(np.float64), empty, empty
        # reduceat over [first[k], first[k+1]) (one peak when equal); the last column ends at the
        # view's end or the track's
        stop = int(min(n, max(first[-1] + 1, np.ceil(end_s * self.peak_rate_hz - 1e-6))))
        lo = np.minimum.reduceat(self.lo[:stop], first)
        hi = np.maximum.reduceat(self.hi[:stop], first)
        return centres[inside], lo, hi


def waveform_of(samples: np.ndarray, *, sr_hz: int, block_samples: int = BLOCK_SAMPLES) -> Waveform:
    """The peaks of mono ``samples`` ``[n]`` at ``sr_hz``: min and max of each ``block_samples``."""
    y = np.asarray(samples, np.float32).reshape(-1)
    blocks = int(np.ceil(len(y) / block_samples))
    padded = np.zeros(blocks * block_samples, np.float32)
    padded[:len(y)] = y
    if len(y) % block_samples:  # the last block's padding must not count as samples
        padded[len(y):] = y[-1]
    grid = padded.reshape(blocks, block_samples)
    return Waveform(len(y) / sr_hz, sr_hz / block_samples, grid.min(axis=1), grid.max(axis=1))


def load_waveform(path: str | os.PathLike[str]) -> Waveform:
    """The waveform of an audio file (``MediaError`` when it cannot be decoded); cached in memory."""
    resolved = Path(path).resolve()
    try:
        st = resolved.stat()
    except OSError as exc:
        raise MediaError(path, exc.strerror or "cannot be read") from None
    return _cached_waveform(str(resolved), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached_waveform(path: str, _size: int, _mtime_ns: int) -> Waveform:
    """Decode ``path`` once per (size, mtime): a rewritten file is decoded again."""
    return waveform_of(media.decode_audio(path, sr_hz=WAVEFORM_SR_HZ), sr_hz=WAVEFORM_SR_HZ)
