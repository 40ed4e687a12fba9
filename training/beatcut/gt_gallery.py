"""The ground-truth BeatCut's gallery: whole tracks with reference beats, split so that nothing the
shipped models were trained on reaches valid or test.

Two kinds of track:

* **rendered MIDI**, whole pieces (:func:`render_midi`): the beat benchmark's pieces and item code
  (:mod:`bgmatch.training.beats`: screening, fluidsynth rendering, beats and downbeats from the
  file's own tempo and time-signature map), with an excerpt as long as the piece. One item per
  piece (and per title: a fiddle tune may sit in two collections), so no two gallery tracks are
  the same music.
* **recordings** of Debian music packages (:mod:`.recordings`) with madmom's beats and downbeats
  as the reference.

**Splits** (:func:`assign_splits`) are by piece (a MIDI piece or a recording). Pieces the shipped
beat tracker was trained on (its training set, ``~/.cache/bgmatch/beats-train/set``: piece ids
and titles, :func:`reserved_groups`) and the tracks of today's BeatCut's train split (the shipped
matching model's training music) can only be in train; the others are shared out by a seeded
shuffle so that the splits get their fractions of the gallery.
"""
from __future__ import annotations

import contextlib
import json
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgmatch.engine.errors import BgmatchError, ConfigError
from bgmatch.engine.analysis.media import probe

from ..beats.item import render_item
from ..beats.layout import item_json, write_json
from ..beats.plan import BuildConfig as ItemConfig
from ..beats.plan import Category, ItemSpec, candidates
from ..beats.render import find_soundfont, write_flac
from ..beats.trainset import _norm_title
from ..parallel import process_pool
from .recordings import read_references
from .splits import SPLITS, allocate, split_names
from .styles import TrackReference

MIDI_CATEGORIES: tuple[Category, ...] = ("steady", "triple", "compound", "humanised")


@dataclass(frozen=True)
class GalleryItem:
    """One gallery track before the split: key, file, duration, reference, and its piece (split unit)."""

    key: str  # "midi/<item id>.flac" or "<package>/<file>"
    path: Path
    duration_s: float
    reference: TrackReference
    group: str  # "piece:<piece id>" or "recording:<key>"
    title: str = ""


def _piece_group(spec: ItemSpec) -> str:
    return f"piece:{spec.piece.piece_id}"


def _render_one(spec: ItemSpec, config: ItemConfig, soundfont: Path, root: Path) -> tuple[ItemSpec, str | None]:
    """Render one whole piece into ``root/items`` (worker process); ``(spec, None)`` or the reason it was left out."""
    try:
        y, doc = render_item(spec, config, soundfont=soundfont)
    except BgmatchError as exc:  # Rejected, or a score music21 cannot parse
        return spec, str(exc)
    doc["group"] = _piece_group(spec)
    write_flac(root / "items" / doc["audio"], y, sr_hz=config.sr_hz)
    write_json(item_json(root, spec.item_id), doc)
    return spec, None


def _interleaved(streams: Mapping[str, Iterator[ItemSpec]]) -> Iterator[ItemSpec]:
    active = dict(streams)
    while active:
        for name in list(active):
            spec = next(active[name], None)
            if spec is None:
                del active[name]
            else:
                yield spec


def render_midi(root: Path, *, per_category: int, seed: int, max_s: float, min_s: float, sr_hz: int = 22050,
                src_dir: Path, workers: int = 1, categories: Sequence[Category] = MIDI_CATEGORIES,
                limit: int | None = None,
                progress: Callable[[int, int, str], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> list[GalleryItem]:
    """Whole MIDI pieces, ``per_category`` per category, rendered into ``root`` (resumable, seeded).

    Candidates come in the beat benchmark's seeded order, round-robin over ``categories``; a
    piece (or title) already taken is skipped, so each sounds once. Renders run in ``workers``
    spawned processes, in waves, and are accepted in candidate order, so the set does not depend
    on which worker finished first. Left-out pieces are remembered in ``root/rejected.json``.
    ``limit``: at most this many pieces in all (the first ones in that order).
    """
    config = ItemConfig(seed=seed, max_s=max_s, min_s=min_s, sr_hz=sr_hz)
    soundfont = find_soundfont()
    rejected_path = root / "rejected.json"
    rejected: dict[str, str] = json.loads(rejected_path.read_text()) if rejected_path.is_file() else {}
    stream = _interleaved({c: candidates(c, config, src_dir=src_dir) for c in categories})
    quota = {c: per_category for c in categories}
    total = sum(quota.values()) if limit is None else min(limit, sum(quota.values()))
    taken: list[ItemSpec] = []
    seen_pieces: set[str] = set()
    seen_titles: set[str] = set()

    def fresh(spec: ItemSpec) -> bool:
        title = _norm_title(spec.piece.title)
        return (quota[spec.category] > 0 and len(taken) < total and spec.piece.piece_id not in seen_pieces
                and not (title and title in seen_titles) and not _still_rejected(rejected.get(spec.item_id), min_s))

    def take(spec: ItemSpec) -> None:
        taken.append(spec)
        quota[spec.category] -= 1
        seen_pieces.add(spec.piece.piece_id)
        if _norm_title(spec.piece.title):
            seen_titles.add(_norm_title(spec.piece.title))
        if progress is not None:
            progress(len(taken), total, spec.item_id)

    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(process_pool(workers)) if workers > 1 else None
        exhausted = False
        while not exhausted and sum(quota.values()) > 0 and len(taken) < total:
            if cancel is not None and cancel():
                break
            wave: list[tuple[ItemSpec, Future | str | None]] = []  # a future, or the reason / None
            while len(wave) < max(2, 2 * workers):
                spec = next(stream, None)
                if spec is None:
                    exhausted = True
                    break
                if not fresh(spec) or any(w.piece.piece_id == spec.piece.piece_id for w, _ in wave):
                    continue
                if item_json(root, spec.item_id).is_file():
                    wave.append((spec, None))
                elif pool is None:
                    wave.append((spec, _render_one(spec, config, soundfont, root)[1]))
                else:
                    wave.append((spec, pool.submit(_render_one, spec, config, soundfont, root)))
            for spec, job in wave:
                reason = job.result()[1] if isinstance(job, Future) else job
                if reason is not None:
                    rejected[spec.item_id] = reason
                    write_json(rejected_path, rejected)
                elif fresh(spec):
                    take(spec)
    return [_midi_item(root, spec) for spec in taken]


_TOO_SHORT = re.compile(r"only ([0-9.]+) s of music")


def _still_rejected(reason: str | None, min_s: float) -> bool:
    """Whether a remembered rejection holds under ``min_s`` (a piece left out as too short may fit a lower one)."""
    if reason is None:
        return False
    short = _TOO_SHORT.search(reason)
    return short is None or float(short.group(1)) < min_s


def _midi_item(root: Path, spec: ItemSpec) -> GalleryItem:
    doc = json.loads(item_json(root, spec.item_id).read_text())
    ref = TrackReference(tuple(doc["beats_s"]), tuple(doc["downbeats_s"] or ()), "midi")
    return GalleryItem(f"midi/{doc['audio']}", root / "items" / doc["audio"], float(doc["duration_s"]), ref,
                       _piece_group(spec), doc["source"].get("title") or "")


def recording_items(src_dir: Path, *, min_s: float, keys: set[str] | None = None) -> list[GalleryItem]:
    """Recordings under ``src_dir/music/<package>/`` that have a madmom reference (``keys``: only those)."""
    music_dir = src_dir / "music"
    refs = read_references(src_dir)
    out = []
    for key in sorted(refs):
        if keys is not None and key not in keys:
            continue
        path = music_dir / key
        if not path.is_file():
            continue
        try:
            duration_s = probe(path).duration_s
        except BgmatchError:
            continue
        r = refs[key]
        if duration_s < min_s or len(r.beats_s) < 8:
            continue
        out.append(GalleryItem(key, path, duration_s, TrackReference(r.beats_s, r.downbeats_s, "madmom"),
                               f"recording:{key}", Path(key).stem))
    return out


def reserved_groups(items: Sequence[GalleryItem], *, trainset_roots: Sequence[Path] = (),
                    beatcut_root: Path | None) -> set[str]:
    """Groups that may only be in train: pieces of the beat tracker's training sets (by piece id or
    title; every set its shipped weights were fine-tuned on) and recordings in today's BeatCut's
    train split (by ``package/file`` key)."""
    ids, titles, keys = set(), set(), set()
    for trainset_root in trainset_roots:
        if not (trainset_root / "build.json").is_file():
            continue
        for item_id in json.loads((trainset_root / "build.json").read_text()).get("items", []):
            path = item_json(trainset_root, item_id)
            if path.is_file():
                source = json.loads(path.read_text())["source"]
                ids.add(source["piece_id"])
                if _norm_title(source.get("title") or ""):
                    titles.add(_norm_title(source["title"]))
    if beatcut_root is not None and (beatcut_root / "build.json").is_file():
        old = json.loads((beatcut_root / "build.json").read_text())
        keys = {t["key"] for t in old.get("splits", {}).get("train", {}).get("tracks", [])}
    out = set()
    for item in items:
        if item.group.startswith("piece:"):
            if item.group.removeprefix("piece:") in ids or (_norm_title(item.title) in titles and _norm_title(item.title)):
                out.add(item.group)
        elif item.key in keys:
            out.add(item.group)
    return out


def assign_splits(items: Sequence[GalleryItem], fractions: Mapping[str, float], *, seed: int,
                  reserved: set[str]) -> dict[str, list[GalleryItem]]:
    """Items by split, disjoint by group; ``reserved`` groups go to train, the rest by a seeded shuffle
    sized so that each split gets its fraction of all the items (as far as the reserved allow)."""
    groups = sorted({i.group for i in items})
    if not groups:
        raise ConfigError("the gallery is empty (no rendered MIDI and no referenced recordings)")
    want = allocate(len(groups), fractions)
    held = [g for g in groups if g in reserved]
    free = [g for g in groups if g not in reserved]
    left = {"train": max(0, want["train"] - len(held)), "valid": want["valid"], "test": want["test"]}
    if not free:
        names = {s: [] for s in SPLITS}
    elif sum(left.values()) == 0:
        names = split_names(free, {"train": 1.0}, seed=seed, salt=3)
    else:
        names = split_names(free, {s: float(v) for s, v in left.items()}, seed=seed, salt=3)
    split_of = {g: s for s in SPLITS for g in names[s]} | {g: "train" for g in held}
    out: dict[str, list[GalleryItem]] = {s: [] for s in SPLITS}
    for item in sorted(items, key=lambda i: i.key):
        out[split_of[item.group]].append(item)
    return out


def style_order(n: int, styles: Sequence[str], *, seed: int, salt: str) -> list[str]:
    """``n`` styles, each ⌊n/S⌋ or ⌈n/S⌉ times, in a seeded order."""
    rng = np.random.default_rng([seed, zlib.crc32(salt.encode())])
    reps = [styles[i % len(styles)] for i in range(n)]
    return [reps[i] for i in rng.permutation(n)]
