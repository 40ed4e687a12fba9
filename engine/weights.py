"""Reading a torch file that may come from anywhere: ``torch.load(weights_only=True)`` only, with
every way it can fail turned into one :class:`ModelError` line naming the file and the reason.
Shared by model checkpoints, the beat tracker's and the tagger's weights."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from .errors import ModelError


def load_payload(source: str | Path, *, what: str, map_location: str | torch.device = "cpu") -> Any:
    """The object saved in ``source``, loaded with ``weights_only=True`` (tensors and plain data
    only; a pickled class is refused, never run). ``what`` names the file kind in messages."""
    source = Path(source)
    if not source.is_file():
        raise ModelError(f"{source}: no such {what} file")
    try:
        return torch.load(source, map_location=map_location, weights_only=True)
    except OSError as error:
        raise ModelError(f"{source}: cannot read: {error.strerror or error}") from error
    # torch.load reports a foreign or damaged file with many exception types (KeyError, EOFError,
    # RuntimeError, UnpicklingError, ...); all of them mean "not a usable file".
    except Exception as error:  # noqa: BLE001
        message = str(error)
        detail = re.search(r"WeightsUnpickler error:\s*([^\n]*)", message)
        reason = detail.group(1).strip() if detail else ""
        # Bytes that are no pickle at all fail in the same unpickler ("Unsupported operand"):
        # those are not a torch file; anything else it refused asked for more than plain data.
        if "Weights only load failed" in message and not reason.startswith("Unsupported operand"):
            raise ModelError(f"{source}: refused to load unsafe pickle content "
                             f"({reason or 'objects other than tensors and plain data'})") from error
        raise ModelError(f"{source}: not a torch {what} file ({type(error).__name__}: {message[:200]})") from error
