"""Tags as a filter: which tags a list of tracks carries, and whether one track carries a tag.

A track carries a tag when it is among its top tags as the library lists them
(``TrackInfo.tags`` / ``Suggestion.tags``, the tagger's best few, best first).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

Tags = Sequence[tuple[str, float]]


def carries(tags: Tags, tag: str | None) -> bool:
    """Whether ``tags`` (name, probability) hold ``tag``; every track carries ``None`` (no filter)."""
    return tag is None or any(name == tag for name, _p in tags)


def tag_counts(tagged: Iterable[Tags]) -> list[tuple[str, int]]:
    """Each tag the tracks carry with how many carry it, most carried first (ties by name)."""
    counts = Counter(name for tags in tagged for name, _p in tags)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
