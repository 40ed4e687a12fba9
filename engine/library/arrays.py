"""Serialise named numpy arrays plus a JSON header to bytes, without pickle."""
from __future__ import annotations

import io
import json
from typing import Any

import numpy as np


def pack(arrays: dict[str, np.ndarray], meta: dict[str, Any] | None = None) -> bytes:
    """Pack arrays and a JSON-able ``meta`` dict into ``.npz`` bytes (no pickled objects)."""
    buf = io.BytesIO()
    header = np.frombuffer(json.dumps(meta or {}).encode("utf-8"), dtype=np.uint8)
    np.savez(buf, __meta__=header, **arrays)
    return buf.getvalue()


def unpack(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Inverse of :func:`pack`; refuses pickled content."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "__meta__"}
        meta = json.loads(bytes(z["__meta__"]).decode("utf-8")) if "__meta__" in z.files else {}
    return arrays, meta
