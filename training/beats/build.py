"""Build the beat benchmark: human-composed MIDI rendered with fluidsynth, with exact beats and downbeats.

    bgmatch eval beats --build [--out DIR] [--limit N] …     (see :mod:`.evaluate`)

Categories (:data:`CATEGORIES`):

* ``steady`` — 4/4 (or 2/4, 2/2) files at one tempo, as written;
* ``tempo_change`` — files whose own tempo map changes (an accelerando within the first
  ``max_s``, or a ritardando at the end: then the excerpt is the piece's last ``max_s``), then
  steady and 3/4 files with a seeded linear tempo ramp (from 0.8–0.92× to 1.08–1.2× of the written
  tempo or back, over the excerpt) written into their tempo map;
* ``triple`` — 3/4 (MIDI files and music21 scores);
* ``compound`` — 6/8, 9/8, 12/8 scores (beat = dotted quarter, see :mod:`.grid`);
* ``humanised`` — steady, triple and compound pieces with a slow seeded tempo drift (±4 %,
  written into the tempo map, so the ground truth follows it) and per-note onset jitter
  (σ 12 ms, clipped at 35 ms; the ground truth ignores it).

Each item is the excerpt from 0.5 s before the first note to ``max_s`` later (or the last note's
end); its beats are those from the first note to the last sounding one. The set is seeded (same
seed and settings → same items, same samples) and resumable (existing items are skipped; files
are written to a temporary name and renamed).
"""
from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import mido
import numpy as np
import pretty_midi
from tqdm import tqdm

from bgmatch.engine.errors import BgmatchError, ConfigError

from .grid import Grid, beat_unit, is_ambiguous, is_compound, midi_grid, onset_fit
from .layout import LAYOUT_VERSION, default_src_dir, item_json, write_json
from .render import find_soundfont, synthesize, write_flac
from .scores import load_midi
from .sources import DEBIAN_PACKAGES, MUSIC21_COLLECTIONS, Piece, debian_pieces, music21_pieces
from .transform import drift, jitter_notes, ramp, tempo_map, ticks_to_seconds, with_tempo_map

Category = Literal["steady", "tempo_change", "triple", "compound", "humanised"]
CATEGORIES: tuple[Category, ...] = ("steady", "tempo_change", "triple", "compound", "humanised")
Variant = Literal["as_is", "tail", "ramp", "humanise"]  # tail: the piece's last max_s seconds, as written
LEAD_S = 0.5  # audio kept before the first note
TAIL_S = 1.0  # audio kept after the last note ends
MIN_ON_GRID = 0.85  # see grid.onset_fit
COMPOUND_METERS = ("6/8", "9/8", "12/8")
SCREEN_VERSION = 2  # of the cached screening of MIDI files (src/screen.json)
#: Settings that must match to add items to an existing set.
FIXED_SETTINGS = ("seed", "max_s", "min_s", "sr_hz", "click")


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


@dataclass
class BuildReport:
    """What :func:`build` did: item ids rendered, already there, and left out (id, reason)."""

    rendered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # the set, in build order


class Rejected(BgmatchError):
    """A piece that cannot give a trustworthy item (off-grid, ambiguous meter, too short)."""


def item_rng(seed: int, key: str) -> np.random.Generator:
    """The generator of one item: depends on the seed and the item only, not on the build order."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def _slug(piece_id: str) -> str:
    return piece_id.replace("/", "_").replace(" ", "_")


def _spec(category: Category, piece: Piece, variant: Variant) -> ItemSpec:
    return ItemSpec(f"{category}-{_slug(piece.piece_id)}", category, piece, variant)


# ----------------------------------------------------------------------------- candidates


def _screen_midi(piece: Piece, max_s: float) -> dict[str, Any]:
    """Meter, tempo changes within the excerpt and grid fit of a MIDI file (cheap; cached)."""
    mid = load_midi(piece, np.random.default_rng(0))
    onsets = _note_on_ticks(mid)
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


def _kind(meters: list[str]) -> str:
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
    steady = [p for p, info in midi if _kind(info["meters"]) == "steady" and not info["tempo_changes"]]
    triple = [p for p, info in midi if _kind(info["meters"]) == "triple" and not info["tempo_changes"]]
    native = [(p, info) for p, info in midi if _kind(info["meters"]) != "other"]
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


# ----------------------------------------------------------------------------- one item


def _note_on_ticks(mid: mido.MidiFile) -> np.ndarray:
    ticks = []
    for track in mid.tracks:
        t = 0
        for msg in track:
            t += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                ticks.append(t)
    return np.asarray(ticks, dtype=np.int64)


def _to_pretty(mid: mido.MidiFile) -> pretty_midi.PrettyMIDI:
    buf = io.BytesIO()
    mid.save(file=buf)
    buf.seek(0)
    return pretty_midi.PrettyMIDI(buf)


def _to_mido(pm: pretty_midi.PrettyMIDI) -> mido.MidiFile:
    buf = io.BytesIO()
    pm.write(buf)
    buf.seek(0)
    return mido.MidiFile(file=buf)


@dataclass(frozen=True)
class PreparedItem:
    """An item before synthesis: the MIDI to render, the excerpt to keep (seconds) and the JSON document."""

    pm: pretty_midi.PrettyMIDI
    start_s: float
    stop_s: float
    doc: dict[str, Any]


def render_item(spec: ItemSpec, config: BuildConfig, *, soundfont: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Render one item: ``(audio float32 [n] at config.sr_hz, its JSON document)``; raises :class:`Rejected`."""
    prep = prepare_item(spec, config)
    y = synthesize(prep.pm, sr_hz=config.sr_hz, soundfont=soundfont)
    y = y[int(round(prep.start_s * config.sr_hz)): int(round(prep.stop_s * config.sr_hz))]
    doc = dict(prep.doc)
    doc["duration_s"] = round(len(y) / config.sr_hz, 4)
    doc["meters"] = [m for m in doc["meters"] if m["time_s"] < doc["duration_s"]]
    return y, doc


def prepare_item(spec: ItemSpec, config: BuildConfig) -> PreparedItem:
    """The MIDI file of one item as it will be rendered, and its ground truth; raises :class:`Rejected`."""
    rng = item_rng(config.seed, spec.item_id)
    mid = load_midi(spec.piece, rng)
    onsets = _note_on_ticks(mid)
    if len(onsets) == 0:
        raise Rejected(f"{spec.piece.path}: no notes")
    grid = midi_grid(mid, end_tick=int(onsets.max()))
    if any(is_ambiguous(m.numerator, m.denominator) for m in grid.meters):
        raise Rejected(f"{spec.piece.path}: meter {[m.label for m in grid.meters]} has no single tapped beat")
    fit = onset_fit(onsets, grid)
    if fit.on_grid < MIN_ON_GRID:
        raise Rejected(f"{spec.piece.path}: notes off the grid (on-grid fraction {fit.on_grid:.2f})")
    kind = _kind([m.label for m in grid.meters])
    if spec.category in ("triple", "compound") and kind != spec.category:
        raise Rejected(f"{spec.piece.path}: meters {[m.label for m in grid.meters]} are not {spec.category}")
    variant: dict[str, Any] = {"kind": spec.variant}
    tpq = mid.ticks_per_beat
    first_tick = int(onsets.min())
    if spec.variant == "ramp":
        t_first = float(ticks_to_seconds(tempo_map(mid), np.array([first_tick]), ticks_per_quarter=tpq)[0])
        last_tick = int(_tick_at(mid, t_first + config.max_s))
        a, b = float(rng.uniform(0.8, 0.92)), float(rng.uniform(1.08, 1.2))
        start, end = (a, b) if rng.random() < 0.5 else (b, a)
        mid = ramp(mid, grid.beat_ticks, start_factor=start, end_factor=end, from_tick=first_tick, to_tick=last_tick)
        variant.update(start_factor=round(start, 4), end_factor=round(end, 4))
    elif spec.variant == "humanise":
        mid = drift(mid, grid.beat_ticks, rng, depth=0.04)
        variant.update(drift_depth=0.04, jitter_sd_s=0.012, jitter_max_s=0.035)
    pm = _to_pretty(mid)
    notes = [n for inst in pm.instruments for n in inst.notes]
    first_s = min(n.start for n in notes)
    t0 = max(0.0, first_s - LEAD_S)
    if spec.variant == "tail":
        t0 = max(t0, max(n.end for n in notes) - config.max_s)
    t_end = t0 + config.max_s
    for inst in pm.instruments:
        inst.notes = [n for n in inst.notes if t0 <= n.start < t_end - 0.05]
        for n in inst.notes:
            n.end = min(n.end, t_end)
        inst.control_changes = [c for c in inst.control_changes if c.time < t_end]
        inst.pitch_bends = [c for c in inst.pitch_bends if c.time < t_end]
    pm.instruments = [inst for inst in pm.instruments if inst.notes]
    if spec.variant == "humanise":
        jitter_notes(pm, rng, sd_s=0.012, max_s=0.035)
    # The file as rendered, reread, is the one the ground truth is read from.
    final = _to_mido(pm)
    changes = tempo_map(final)
    beats_all = ticks_to_seconds(changes, grid.beat_ticks * final.ticks_per_beat / tpq,
                                 ticks_per_quarter=final.ticks_per_beat)
    pm = _to_pretty(final)
    notes = [n for inst in pm.instruments for n in inst.notes]
    first_s, last_s = min(n.start for n in notes), max(n.end for n in notes)
    keep = (beats_all >= first_s - 0.05) & (beats_all <= last_s) & (beats_all < t_end)
    if config.click:
        click = pretty_midi.Instrument(program=0, is_drum=True, name="click")
        for t, down in zip(beats_all[keep], grid.downbeat[keep]):
            click.notes.append(pretty_midi.Note(velocity=127, pitch=76 if down else 77, start=float(t),
                                                end=float(t) + 0.05))
        pm.instruments.append(click)
    stop_s = min(t_end, last_s + TAIL_S)
    duration_s = (int(round(stop_s * config.sr_hz)) - int(round(t0 * config.sr_hz))) / config.sr_hz
    sounding_s = min(last_s, t_end) - first_s
    if sounding_s < config.min_s:
        raise Rejected(f"{spec.piece.path}: only {sounding_s:.1f} s of music (need {config.min_s:g} s)")
    beats = beats_all[keep] - t0
    downs = grid.downbeat[keep]
    positions = np.cumsum(np.ones(len(grid.downbeat), dtype=np.int64)) - np.maximum.accumulate(
        np.where(grid.downbeat, np.arange(len(grid.downbeat)), 0))  # 1 on a downbeat, 2 on the next beat …
    positions = [int(k) for k in positions[keep]] if grid.downbeats_known else []
    meters = [{"time_s": round(float(ticks_to_seconds(changes, np.array([m.tick * final.ticks_per_beat / tpq]),
                                                      ticks_per_quarter=final.ticks_per_beat)[0]) - t0, 4),
               "label": m.label, "beats_per_bar": beat_unit(m.numerator, m.denominator, ticks_per_quarter=tpq)[0]}
              for m in grid.meters]
    meters = [m for i, m in enumerate(meters) if i + 1 == len(meters) or meters[i + 1]["time_s"] > 0]
    meters = [m for m in meters if m["time_s"] < duration_s]
    meters[0]["time_s"] = max(0.0, meters[0]["time_s"])
    periods = np.diff(beats)
    doc = {
        "version": LAYOUT_VERSION, "item_id": spec.item_id, "category": spec.category,
        "audio": f"{spec.item_id}.flac", "sr_hz": config.sr_hz, "duration_s": round(duration_s, 4),
        "source": {"piece_id": spec.piece.piece_id, "origin": spec.piece.origin, "title": spec.piece.title,
                   "path": spec.piece.path, "number": spec.piece.number},
        "license": spec.piece.license, "variant": variant,
        "meter": meters[0]["label"], "meters": meters, "downbeats_known": grid.downbeats_known,
        "tempo_bpm": round(float(60 / np.median(periods)), 2) if len(periods) else None,
        "excerpt_start_s": round(t0, 4), "on_grid": round(fit.on_grid, 3), "click": config.click,
        "beats_s": [round(float(t), 5) for t in beats],
        "downbeats_s": [round(float(t), 5) for t in beats[downs]] if grid.downbeats_known else None,
        "beat_positions": positions,
    }
    return PreparedItem(pm, t0, stop_s, doc)


def _tick_at(mid: mido.MidiFile, seconds: float) -> float:
    """The tick at ``seconds`` under ``mid``'s tempo map."""
    changes = tempo_map(mid)
    starts = ticks_to_seconds(changes, np.array([t for t, _ in changes]), ticks_per_quarter=mid.ticks_per_beat)
    i = int(np.searchsorted(starts, seconds, side="right") - 1)
    return changes[i][0] + (seconds - starts[i]) * 1e6 * mid.ticks_per_beat / changes[i][1]


# ----------------------------------------------------------------------------- the set


def _check_settings(root: Path, config: BuildConfig) -> dict[str, Any]:
    path = root / "build.json"
    settings = {k: getattr(config, k) for k in FIXED_SETTINGS}
    if path.is_file():
        info = json.loads(path.read_text())
        old = info.get("settings", {})
        diff = [k for k in FIXED_SETTINGS if old.get(k) != settings[k]]
        if diff:
            raise ConfigError(f"{root}: built with other settings ({', '.join(f'{k}={old.get(k)}' for k in diff)}); "
                              f"use another --out")
        return info
    return {"version": LAYOUT_VERSION, "settings": settings, "items": []}


def build(root: Path, config: BuildConfig = BuildConfig(), *, src_dir: Path | None = None,
          packages: list[str] | None = None, categories: tuple[Category, ...] = CATEGORIES,
          progress: Callable[[int, int, str], None] | None = None,
          cancel: Callable[[], bool] | None = None) -> BuildReport:
    """Render the set into ``root`` (resumable; see the module docstring); ``progress(done, total, item_id)``."""
    src_dir = src_dir or default_src_dir()
    root.mkdir(parents=True, exist_ok=True)
    info = _check_settings(root, config)
    soundfont = find_soundfont()
    rejected_path = root / "rejected.json"
    rejected: dict[str, str] = json.loads(rejected_path.read_text()) if rejected_path.is_file() else {}
    quota = {c: config.per_category for c in categories}
    total = min(config.limit, sum(quota.values())) if config.limit is not None else sum(quota.values())
    streams = {c: candidates(c, config, src_dir=src_dir, packages=packages) for c in categories}
    report = BuildReport()
    counts = {c: 0 for c in categories}
    active = list(categories)
    while active and len(report.items) < total:
        for category in list(active):
            if len(report.items) >= total:
                break
            if cancel is not None and cancel():
                _finish(root, info, report)
                return report
            item_id = _next_item(streams[category], config, root, soundfont, rejected, rejected_path, report)
            if item_id is None:
                active.remove(category)
                continue
            report.items.append(item_id)
            counts[category] += 1
            if counts[category] >= quota[category]:
                active.remove(category)
            if progress is not None:
                progress(len(report.items), total, item_id)
    _finish(root, info, report)
    return report


def _next_item(stream: Iterator[ItemSpec], config: BuildConfig, root: Path, soundfont: Path,
               rejected: dict[str, str], rejected_path: Path, report: BuildReport) -> str | None:
    for spec in stream:
        if spec.item_id in report.items:
            continue
        if item_json(root, spec.item_id).is_file():
            report.skipped.append(spec.item_id)
            return spec.item_id
        if spec.item_id in rejected:
            continue
        try:
            y, doc = render_item(spec, config, soundfont=soundfont)
        except Rejected as exc:
            rejected[spec.item_id] = str(exc)
            report.rejected.append((spec.item_id, str(exc)))
            write_json(rejected_path, rejected)
            continue
        write_flac(root / "items" / doc["audio"], y, sr_hz=config.sr_hz)
        write_json(item_json(root, spec.item_id), doc)
        report.rendered.append(spec.item_id)
        return spec.item_id
    return None


def _finish(root: Path, info: dict[str, Any], report: BuildReport) -> None:
    known = list(info.get("items", []))
    order = report.items + [i for i in known if i not in report.items]
    info["items"] = list(dict.fromkeys(order))
    info["licenses"] = {**{f"debian:{k}": v for k, v in DEBIAN_PACKAGES.items()},
                        **{f"music21:{k}": v for k, v in MUSIC21_COLLECTIONS.items()}}
    write_json(root / "build.json", info)


def build_with_bar(root: Path, config: BuildConfig, *, quiet: bool = False, **kwargs: Any) -> BuildReport:
    """:func:`build` with a tqdm bar."""
    bar = tqdm(total=0, unit="item", desc="beats build", disable=quiet)

    def progress(done: int, total: int, item_id: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(item_id[-40:])
        bar.refresh()

    try:
        return build(root, config, progress=progress, **kwargs)
    finally:
        bar.close()
