"""Which trained model ranks with the analysis-only score: a bundle folder, the shipped default
(``assets/model``), or none. The CLI's ``--model`` and the app's setting both resolve here.

``default`` is the shipped model only while its learned score counts: a shipped bundle whose
fusion weight is 0 (the weight chosen on the ground-truth BeatCut's valid split, assets/MODEL.md)
would change no ranking, so ``default`` then ranks by synchrony alone, as ``none`` does, and
nothing loads torch or embeds the library for it. A bundle folder named explicitly always loads.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from bgmatch.assets import asset_path

from ..errors import ModelError
from .bundle_format import BUNDLE_MANIFEST, fusion_weight

if TYPE_CHECKING:  # torch is imported only when a model is loaded (keeps `--model none` quick)
    import torch

    from .bundle import ModelBundle

DEFAULT = "default"
NONE = "none"
MODEL_ENV = "BGMATCH_MODEL"
"""Environment variable with the model choice when none is given (a folder, ``default``, ``none``)."""


def default_bundle_path() -> Path | None:
    """The shipped model bundle folder, or None when this installation has none."""
    folder = asset_path("model")
    return folder if (folder / BUNDLE_MANIFEST).is_file() else None


def default_model_path() -> Path | None:
    """What ``default`` ranks with: the shipped bundle folder, or None when there is none or its
    learned score weighs 0 (see the module's docstring)."""
    folder = default_bundle_path()
    if folder is None:
        return None
    try:
        return folder if fusion_weight(folder) != 0 else None
    except ModelError:
        return folder  # a damaged manifest: loading it names the file and the problem


def resolve_model_choice(choice: str | None) -> Path | None:
    """The bundle folder a choice names (None for ``none``, or for ``default`` when
    :func:`default_model_path` is None)."""
    choice = choice or os.environ.get(MODEL_ENV) or DEFAULT
    if choice == NONE:
        return None
    if choice == DEFAULT:
        return default_model_path()
    return Path(choice).expanduser()


def load_model_choice(choice: str | None, *, device: "str | torch.device | None" = None) -> "ModelBundle | None":
    """Load the bundle a choice names (``ModelError`` names the file and the problem)."""
    folder = resolve_model_choice(choice)
    if folder is None:
        return None
    from .bundle import ModelBundle

    return ModelBundle.load(folder, device=device)
