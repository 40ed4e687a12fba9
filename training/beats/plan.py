"""Which items the beat benchmark is made of: categories, candidate pieces in a seeded order.

Categories (:data:`CATEGORIES`):

* ``steady`` — 4/4 (or 2/4, 2/2) files at one tempo, as written;
* ``tempo_change`` — files whose own tempo map changes (an accelerando within the first
  ``max_s``, or a ritardando at the end: then the excerpt is the piece's last ``max_s``), then
  steady and 3/4 files with a seeded linear tempo ramp (from 0.8–0.92× to 1.08–1.2× of the written
  tempo or back, over the excerpt) written into their tempo map;
* ``triple`` — 3/4 (MIDI files and music21 scores);
* ``compound`` — 6/8, 9/8, 12/8 scores (beat = dotted quarter, see :mod:`.grid`);
* ``humanised`` — steady MIDI files and 6/8 and 3/4 tunes with a slow seeded tempo drift (±4 %,
  written into the tempo map, so the ground truth follows it) and per-note onset jitter
  (σ 12 ms, clipped at 35 ms; the ground truth ignores it).

MIDI files are screened first (:func:`_screen_midi`, cached in ``SRC/screen.json``): files whose
notes do not sit on their own grid, or in a meter without a single tapped beat, are left out.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bgmatch.engine.errors import ConfigError

from .grid import is_ambiguous, is_compound, midi_grid, note_on_ticks, onset_fit
from .layout import write_json
from .scores import load_midi
from .sources import Piece, debian_pieces, music21_pieces
from .transform import tempo_map, ticks_to_seconds

Category = Literal["steady", "tempo_change", "triple", "compound", "humanised"]
CATEGORIES: tuple[Category, ...] = ("steady", "tempo_change", "triple", "compound", "humanised")
Variant = Literal["as_is", "tail", "ramp", "humanise"]  # tail: the piece's last max_s seconds, as written
MIN_ON_GRID = 0.85  # see grid.onset_fit
COMPOUND_METERS = ("6/8", "9/8", "12/8")
SCREEN_VERSION = 2  # of the cached screening of MIDI files (src/screen.json)


@dataclass(frozen=True)
class BuildConfig:
    """Settings of a build; all but ``per_category`` and ``limit`` are fixed for a set's folder."""

    seed: int = 0
    per_category: int = 14
    limit: int | None = None  # at most this many items in all (taken round-robin over categories)
    max_s: float = 60.0
    min_s: float = 12.0
    sr_hz: int = 22050
    click: bool = False  # test aid: a wood block on every ground-truth beat


@dataclass(frozen=True)
class ItemSpec:
    """One item to render: a piece, its category and what is done to it."""

    item_id: str
    category: Category
    piece: Piece
    variant: Variant


def item_rng(seed: int, key: str) -> np.random.Generator:
    """The generator of one item: depends on the seed and the item only, not on the build order."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def _slug(piece_id: str) -> str:
    return piece_id.replace("/", "_").replace(" ", "_")


def _spec(category: Category, piece: Piece, variant: Variant) -> ItemSpec:
    return ItemSpec(f"{category}-{_slug(piece.piece_id)}", category, piece, variant)


def _screen_midi(piece: Piece, max_s: float) -> dict[str, Any]:
    """Meter, tempo changes within the excerpt and grid fit of a MIDI file (cheap; cached)."""
    mid = load_midi(piece, np.random.default_rng(0))
    onsets = note_on_ticks(mid)
    if len(onsets) == 0:
        return {"ok": False, "reason": "no notes"}
    grid = midi_grid(mid, end_tick=int(onsets.max()))
    fit = onset_fit(onsets, grid)
    labels = sorted({m.label for m in grid.meters})
    changes = tempo_map(mid)
    seconds = ticks_to_seconds(changes, np.array([t for t, _ in changes] + [int(onsets.min())]),
                               ticks_per_quarter=mid.ticks_per_beat)
    first = seconds[-1]
    values = [v for _, v in changes]
    real = [s for s, v, prev in zip(seconds[1:-1], values[1:], values[:-1]) if abs(v / prev - 1) > 0.005]
    last = float(ticks_to_seconds(changes, np.array([int(onsets.max())]), ticks_per_quarter=mid.ticks_per_beat)[0])
    in_window = sum(1 for s in real if first < s < first + max_s)
    in_tail = sum(1 for s in real if last - max_s < s < last)
    info = {"meters": labels, "known": grid.downbeats_known, "on_grid": round(fit.on_grid, 3),
            "tempo_changes": in_window, "tempo_changes_tail": in_tail, "ok": True, "reason": ""}
    if fit.on_grid < MIN_ON_GRID:
        info.update(ok=False, reason=f"notes off the tempo map's grid (on-grid fraction {fit.on_grid:.2f})")
    elif fit.on_beat < 0.75 * fit.half_beat:
        info.update(ok=False, reason="more onsets half a beat off than on the beat")
    elif any(is_ambiguous(*map(int, m.split("/"))) for m in labels):
        info.update(ok=False, reason=f"meter {labels} has no single tapped beat")
    return info


def meter_kind(meters: list[str]) -> str:
    """The kind of a meter map: "steady" (2 or 4 simple beats a bar), "triple" (3), "compound" (6/8, 9/8 …) or "other"."""
    nums = [tuple(map(int, m.split("/"))) for m in meters]
    if all(n in (2, 4) and not is_compound(n, d) for n, d in nums):
        return "steady"
    if all(n == 3 for n, _ in nums):
        return "triple"
    if all(is_compound(n, d) for n, d in nums):
        return "compound"
    return "other"


def _screened(src_dir: Path, max_s: float, packages: list[str] | None) -> list[tuple[Piece, dict[str, Any]]]:
    cache_path = src_dir / "screen.json"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    out, dirty = [], False
    for piece in debian_pieces(src_dir, packages):
        key = f"{piece.piece_id}@{max_s:g}@{SCREEN_VERSION}"
        if key not in cache:
            cache[key] = _screen_midi(piece, max_s)
            dirty = True
        out.append((piece, cache[key]))
    if dirty:
        write_json(cache_path, cache)
    return out


def _music21_pool(src_dir: Path, meter: str) -> list[Piece]:
    """music21 scores in ``meter`` (the corpus search is slow: cached per music21 version)."""
    import music21

    cache_path = src_dir / f"music21-{music21.__version__}-{meter.replace('/', '-')}.json"
    if cache_path.is_file():
        return [Piece(**d) for d in json.loads(cache_path.read_text())]
    pieces = music21_pieces(meter)
    write_json(cache_path, [asdict(p) for p in pieces])  # type: ignore[arg-type]
    return pieces


def _shuffled(items: list[Any], rng: np.random.Generator) -> list[Any]:
    return [items[i] for i in rng.permutation(len(items))]


def _interleave(*pools: list[Any] | Callable[[], list[Any]]) -> Iterator[Any]:
    """Round-robin over ``pools``; a callable pool is called only when its first item is needed."""
    ready: list[list[Any] | None] = [p if isinstance(p, list) else None for p in pools]
    k = 0
    while True:
        any_left = False
        for i, pool in enumerate(pools):
            if ready[i] is None:
                ready[i] = pool()  # type: ignore[operator]
            items = ready[i]
            assert items is not None
            if k < len(items):
                any_left = True
                yield items[k]
        if not any_left:
            return
        k += 1


def candidates(category: Category, config: BuildConfig, *, src_dir: Path,
               packages: list[str] | None = None) -> Iterator[ItemSpec]:
    """Items of ``category`` to try, in a seeded order (music21's corpus is searched only when reached)."""
    rng = item_rng(config.seed, f"category:{category}")
    midi = [(p, info) for p, info in _screened(src_dir, config.max_s, packages) if info["ok"]]
    steady = [p for p, info in midi if meter_kind(info["meters"]) == "steady" and not info["tempo_changes"]]
    triple = [p for p, info in midi if meter_kind(info["meters"]) == "triple" and not info["tempo_changes"]]
    native = [(p, info) for p, info in midi if meter_kind(info["meters"]) != "other"]
    native_changes = [(p, "as_is" if info["tempo_changes"] else "tail") for p, info in native
                      if info["tempo_changes"] or info["tempo_changes_tail"]]
    if category == "steady":
        yield from (_spec(category, p, "as_is") for p in _shuffled(steady, rng))
    elif category == "tempo_change":
        yield from (_spec(category, p, v) for p, v in native_changes)
        used = {p.piece_id for p, _ in native_changes}  # one item per piece and category
        ramps = _interleave(_shuffled(steady, rng), _shuffled(triple, rng))
        yield from (_spec(category, p, "ramp") for p in ramps if p.piece_id not in used)
    elif category == "triple":
        yield from (_spec(category, p, "as_is") for p in triple)
        yield from (_spec(category, p, "as_is") for p in _shuffled(_music21_pool(src_dir, "3/4"), rng))
    elif category == "compound":
        pools = [lambda m=m: _shuffled(_music21_pool(src_dir, m), item_rng(config.seed, f"{category}:{m}"))
                 for m in COMPOUND_METERS]
        yield from (_spec(category, p, "as_is") for p in _interleave(*pools))
    elif category == "humanised":
        first = _shuffled(steady, rng)
        yield from (_spec(category, p, "humanise") for p in first[:2])
        rest = _interleave(first[2:], *(lambda m=m: _shuffled(_music21_pool(src_dir, m),
                                                              item_rng(config.seed, f"{category}:{m}"))
                                        for m in ("6/8", "3/4")))
        yield from (_spec(category, p, "humanise") for p in rest)
    else:
        raise ConfigError(f"unknown category {category!r} (choose from {', '.join(CATEGORIES)})")
