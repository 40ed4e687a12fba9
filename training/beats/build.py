"""Build the beat benchmark: human-composed MIDI rendered with fluidsynth, with exact beats and downbeats.

    bgmatch eval beats --build [--out DIR] [--limit N] …     (see :mod:`.evaluate`)

What goes in is chosen by :mod:`.plan`, each item made by :mod:`.item`. The set is seeded (same
seed and settings → same items, same samples) and resumable (existing items are skipped; files
are written to a temporary name and renamed; pieces left out are remembered in rejected.json).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bgmatch.engine.errors import ConfigError

from .item import Rejected, render_item
from .layout import LAYOUT_VERSION, default_src_dir, item_json, write_json
from .plan import CATEGORIES, BuildConfig, Category, ItemSpec, candidates
from .render import find_soundfont, write_flac
from .sources import DEBIAN_PACKAGES, MUSIC21_COLLECTIONS

#: Settings that must match to add items to an existing set.
FIXED_SETTINGS = ("seed", "max_s", "min_s", "sr_hz", "click")


@dataclass
class BuildReport:
    """What :func:`build` did: item ids rendered, already there, and left out (id, reason)."""

    rendered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # the set, in build order


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
