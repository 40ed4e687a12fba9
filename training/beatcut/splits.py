"""Seeded train/valid/test splits of BeatCut's music and footage, disjoint by file.

Pure functions over lists of names: the same names, fractions and seed always give the same
split, whatever order the names came in.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from bgmatch.engine.errors import ConfigError

from .sources import PHOTO_SUFFIXES

SPLITS = ("train", "valid", "test")


def parse_fractions(text: str) -> dict[str, float]:
    """``"train=0.25,valid=0.25,test=0.5"`` → ``{"train": 0.25, …}`` (missing splits get 0;
    :func:`allocate` normalises the sum)."""
    return _parse_pairs(text, float, "fractions")


def parse_counts(text: str) -> dict[str, int]:
    """``"train=100,valid=100,test=150"`` → ``{"train": 100, …}``."""
    return _parse_pairs(text, int, "query counts")


def _parse_pairs(text: str, kind: type, what: str) -> dict:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or name.strip() not in SPLITS:
            raise ConfigError(f"{what}: expected NAME=VALUE with NAME in {'/'.join(SPLITS)}, got {part!r}")
        try:
            out[name.strip()] = kind(value)
        except ValueError:
            raise ConfigError(f"{what}: {value!r} is not a number") from None
        if out[name.strip()] < 0:
            raise ConfigError(f"{what}: {part!r} is negative")
    return {s: out.get(s, kind(0)) for s in SPLITS}


def allocate(n: int, fractions: Mapping[str, float], *, at_least: int = 0) -> dict[str, int]:
    """Split ``n`` items over the splits in proportion to ``fractions`` (largest remainder).

    Splits with a positive fraction get at least ``at_least`` items when ``n`` allows.
    """
    names = [s for s in SPLITS if fractions.get(s, 0.0) > 0]
    total = sum(fractions[s] for s in names)
    if not names or total <= 0:
        raise ConfigError("at least one split needs a positive fraction")
    exact = {s: n * fractions[s] / total for s in names}
    counts = {s: math.floor(exact[s]) for s in names}
    for s in sorted(names, key=lambda s: (counts[s] - exact[s], SPLITS.index(s)))[: n - sum(counts.values())]:
        counts[s] += 1
    for s in names:  # top up small splits from the largest
        while counts[s] < at_least and n >= at_least * len(names):
            donor = max(names, key=lambda d: counts[d])
            counts[donor] -= 1
            counts[s] += 1
    return {s: counts.get(s, 0) for s in SPLITS}


def split_names(names: Sequence[str], fractions: Mapping[str, float], *, seed: int,
                salt: int = 0, at_least: int = 0) -> dict[str, list[str]]:
    """Assign each name to one split: a seeded shuffle of the sorted names, cut by :func:`allocate`.

    Returns split → sorted names. ``salt`` gives an independent shuffle for another kind of item.
    """
    ordered = sorted(set(names))
    if len(ordered) != len(names):
        raise ConfigError("split_names: names must be unique")
    perm = np.random.default_rng([seed, salt]).permutation(len(ordered))
    counts = allocate(len(ordered), fractions, at_least=at_least)
    out, start = {}, 0
    for s in SPLITS:
        out[s] = sorted(ordered[i] for i in perm[start : start + counts[s]])
        start += counts[s]
    return out


def split_footage(paths: Sequence[Path], fractions: Mapping[str, float], *, seed: int) -> dict[str, list[Path]]:
    """Footage files by split, disjoint by file name; clips and photos are split separately so
    each split with a positive fraction gets at least one clip and one photo when there are enough."""
    by_name = {p.name: p for p in paths}
    if len(by_name) != len(paths):
        raise ConfigError("footage files must have distinct names")
    photos = [n for n in by_name if Path(n).suffix.lower() in PHOTO_SUFFIXES]
    clips = [n for n in by_name if n not in set(photos)]
    parts = (split_names(clips, fractions, seed=seed, salt=1, at_least=1),
             split_names(photos, fractions, seed=seed, salt=2, at_least=1))
    return {s: sorted((by_name[n] for part in parts for n in part[s]), key=lambda p: p.name) for s in SPLITS}
