"""A training set for the beat tracker, disjoint from the benchmark by piece (and title).

    bgmatch train beats build [--out DIR] [--items N] [--exclude BENCH_DIR] …   (see :mod:`.train`)

Items are made exactly as the benchmark's (:func:`.item.prepare_item`: same screening, same ground
truth, variants ``as_is``, ``ramp`` and ``humanise``), from pieces the benchmark at ``exclude`` does
not use: neither its piece ids nor its titles (a fiddle tune may sit in two collections). Pieces:
the Debian MIDI files that pass the screening and music21's free collections in 2/4, 4/4, 3/4,
6/8, 9/8 and 12/8. Each item is then augmented in MIDI, where the ground truth follows exactly:
a global tempo factor (0.75–1.33×, log-uniform), a transposition of the pitched parts (±5
semitones) and one of several General MIDI soundfonts (:func:`soundfonts`), so that the network
does not learn one soundfont's timbre. Audio-level augmentation (gain, EQ, noise, reverb) is
drawn afresh at every training step (:mod:`.augment`).

The layout is the benchmark's (:mod:`.layout`; ``load_set`` reads it); each item's JSON has an
``augment`` entry and a ``split`` (``train``/``val``, by piece). Seeded and resumable as the
benchmark's build.
"""
from __future__ import annotations

import json
import os
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bgmatch.engine.errors import ConfigError

from ..parallel import run_jobs
from .item import Rejected, prepare_item
from .layout import LAYOUT_VERSION, item_json, write_json
from .plan import BuildConfig, Category, ItemSpec, _music21_pool, _screened, _shuffled, item_rng, meter_kind
from .render import find_soundfont, synthesize, write_flac
from .sources import DEBIAN_PACKAGES, MUSIC21_COLLECTIONS, Piece

#: music21 meters drawn from (the benchmark draws 3/4, 6/8, 9/8 and 12/8 only).
MUSIC21_METERS = ("2/4", "4/4", "3/4", "6/8", "9/8", "12/8")
#: Extra soundfonts looked for (Debian timgm6mb-soundfont, opl3-soundfont; sf2 only: fluidsynth
#: decodes an sf3's Vorbis samples at every start, 10 s a render here).
EXTRA_SOUNDFONTS = ("TimGM6mb.sf2", "OPL-3_FM_128M.sf2")
SOUNDFONT_DIRS = ("/usr/share/sounds/sf2",)
VAL_FRACTION = 0.1


@dataclass(frozen=True)
class TrainSetConfig:
    """Settings of a training set (fixed per folder, except ``n_items``, which may grow)."""

    seed: int = 1
    n_items: int = 240
    max_s: float = 30.0
    min_s: float = 12.0
    sr_hz: int = 22050
    tempo_range: tuple[float, float] = (0.75, 1.33)
    transpose_semitones: int = 5
    click: bool = False  # test aid: a wood block on every ground-truth beat (see .plan.BuildConfig)


def soundfonts(extra_dirs: list[Path] | None = None) -> list[Path]:
    """The GM soundfonts to render with: the benchmark's own (:func:`.render.find_soundfont`), then
    each of :data:`EXTRA_SOUNDFONTS` found in ``$BGMATCH_SOUNDFONT_DIRS`` (``:``-separated),
    ``extra_dirs`` or Debian's folder."""
    dirs = [Path(d) for d in os.environ.get("BGMATCH_SOUNDFONT_DIRS", "").split(":") if d]
    dirs += list(extra_dirs or []) + [Path(d) for d in SOUNDFONT_DIRS]
    found = [find_soundfont()]
    for name in EXTRA_SOUNDFONTS:
        path = next((d / name for d in dirs if (d / name).is_file()), None)
        if path is not None and path not in found:
            found.append(path)
    return found


def _norm_title(title: str) -> str:
    return re.sub(r"[^a-z0-9]", "", title.lower().removeprefix("the ").removesuffix(", the"))


def excluded(root: Path) -> tuple[set[str], set[str]]:
    """Piece ids and normalised titles to keep out of training: every item of the beat benchmark at
    ``root``, or, for a ground-truth BeatCut there (``bgmatch train beatcut build --edition gt``), the
    rendered pieces of its valid and test splits (its train split may share pieces with training)."""
    build = root / "build.json"
    if not build.is_file():
        raise ConfigError(f"{root}: no beat benchmark or ground-truth BeatCut to keep the training set apart from")
    info = json.loads(build.read_text())
    if "splits" in info:  # a ground-truth BeatCut: its MIDI tracks are beat items in midi/
        items_root = root / "midi"
        item_ids = [Path(t["key"]).stem for split in ("valid", "test")
                    for t in info["splits"].get(split, {}).get("tracks", []) if t["key"].startswith("midi/")]
    else:
        items_root, item_ids = root, info.get("items", [])
    ids, titles = set(), set()
    for item_id in item_ids:
        path = item_json(items_root, item_id)
        if path.is_file():
            source = json.loads(path.read_text())["source"]
            ids.add(source["piece_id"])
            if _norm_title(source.get("title") or ""):
                titles.add(_norm_title(source["title"]))
    return ids, titles


def training_pieces(src_dir: Path, bench_root: Path, *, seed: int,
                    keep_apart: Sequence[Path] = ()) -> list[tuple[Category, Piece]]:
    """``(category, piece)`` pairs not in the benchmark nor in the held-out splits of the
    ``keep_apart`` sets (see :func:`excluded`), in a seeded order interleaving the pools (Debian
    files; music21 simple, triple and compound meters)."""
    ids, titles = excluded(bench_root)
    for root in keep_apart:
        more_ids, more_titles = excluded(root)
        ids |= more_ids
        titles |= more_titles

    def keep(p: Piece) -> bool:
        return p.piece_id not in ids and not (_norm_title(p.title) and _norm_title(p.title) in titles)

    rng = np.random.default_rng([seed, 7])
    pools: dict[str, list[tuple[Category, Piece]]] = {"debian": [], "simple": [], "triple": [], "compound": []}
    for piece, info in _screened(src_dir, 60.0, None):
        kind = meter_kind(info["meters"]) if info["ok"] else "other"
        if kind != "other" and keep(piece):
            pools["debian"].append((kind, piece))  # type: ignore[arg-type]
    for meter in MUSIC21_METERS:
        kind = meter_kind([meter])
        pool = "simple" if kind == "steady" else kind
        pools[pool] += [(kind, p) for p in _music21_pool(src_dir, meter) if keep(p)]  # type: ignore[misc]
    shuffled = [_shuffled(v, rng) for v in pools.values()]
    # Debian files have drums and parts but are few: each is used about 3 times over, the tunes once.
    order: list[tuple[Category, Piece]] = []
    for k in range(max(len(v) for v in shuffled)):
        for i, pool_items in enumerate(shuffled):
            if pool_items and k < len(pool_items) * (3 if i == 0 else 1):
                order.append(pool_items[k % len(pool_items)])
    return order


def split_of(piece_id: str) -> str:
    """``"val"`` for about :data:`VAL_FRACTION` of the pieces (by a hash of the id), else ``"train"``."""
    return "val" if zlib.crc32(piece_id.encode()) % 1000 < VAL_FRACTION * 1000 else "train"


def make_item(k: int, category: Category, piece: Piece, config: TrainSetConfig,
              fonts: list[Path]) -> tuple[np.ndarray, dict[str, Any]]:
    """Item number ``k``: prepared as the benchmark's, then tempo-scaled, transposed and rendered
    with a drawn soundfont; ``(audio [n] float32, JSON document)``; raises :class:`Rejected`."""
    item_id = f"train{k:05d}-{piece.piece_id.replace('/', '_')}"
    rng = item_rng(config.seed, item_id)
    variant = ("as_is", "ramp", "humanise")[int(rng.choice(3, p=[0.4, 0.3, 0.3]))]
    spec = ItemSpec(item_id, category if variant != "ramp" else "tempo_change", piece, variant)  # type: ignore[arg-type]
    build = BuildConfig(seed=config.seed, max_s=config.max_s, min_s=config.min_s, sr_hz=config.sr_hz,
                        click=config.click)
    prep = prepare_item(spec, build)
    lo, hi = config.tempo_range
    factor = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    shift = int(rng.integers(-config.transpose_semitones, config.transpose_semitones + 1))
    font = fonts[int(rng.integers(len(fonts)))]
    pm = prep.pm
    end_s = max(pm.get_end_time(), prep.stop_s) + 1.0
    pm.adjust_times([0.0, end_s], [0.0, end_s / factor])  # factor > 1 is faster
    for inst in pm.instruments:
        if not inst.is_drum:
            for note in inst.notes:
                note.pitch = int(np.clip(note.pitch + shift, 0, 127))
    y = synthesize(pm, sr_hz=config.sr_hz, soundfont=font)
    y = y[int(round(prep.start_s / factor * config.sr_hz)): int(round(prep.stop_s / factor * config.sr_hz))]
    doc = dict(prep.doc)
    doc["duration_s"] = round(len(y) / config.sr_hz, 4)
    doc["beats_s"] = [round(t / factor, 5) for t in doc["beats_s"]]
    if doc["downbeats_s"] is not None:
        doc["downbeats_s"] = [round(t / factor, 5) for t in doc["downbeats_s"]]
    doc["meters"] = [{**m, "time_s": round(m["time_s"] / factor, 4)} for m in doc["meters"]
                     if m["time_s"] / factor < doc["duration_s"]]
    doc["tempo_bpm"] = round(doc["tempo_bpm"] * factor, 2) if doc["tempo_bpm"] else None
    doc["augment"] = {"tempo_factor": round(factor, 4), "transpose": shift, "soundfont": font.name}
    doc["split"] = split_of(piece.piece_id)
    return y, doc


def _make_and_write(root: Path, k: int, category: Category, piece: Piece, config: TrainSetConfig,
                    fonts: list[Path]) -> tuple[str | None, str]:
    try:
        y, doc = make_item(k, category, piece, config, fonts)
    except Rejected as exc:
        return None, str(exc)
    write_flac(root / "items" / doc["audio"], y, sr_hz=config.sr_hz)
    write_json(item_json(root, doc["item_id"]), doc)
    return doc["item_id"], ""


def _make_and_write_job(job: tuple) -> tuple[str | None, str]:
    return _make_and_write(*job)


def build_trainset(root: Path, config: TrainSetConfig, *, src_dir: Path, bench_root: Path,
                   keep_apart: Sequence[Path] = (), workers: int = 1,
                   progress: Callable[[int, int, str], None] | None = None,
                   cancel: Callable[[], bool] | None = None) -> list[str]:
    """Render ``config.n_items`` training items into ``root`` (resumable); the item ids, in order.

    Pieces of the benchmark at ``bench_root`` and of the held-out splits of each ground-truth
    BeatCut in ``keep_apart`` are left out; a rerun must keep them the same (the piece order
    depends on them)."""
    root.mkdir(parents=True, exist_ok=True)
    info_path = root / "build.json"
    settings = {k: v for k, v in asdict(config).items() if k != "n_items"}
    settings["tempo_range"] = list(config.tempo_range)
    info = json.loads(info_path.read_text()) if info_path.is_file() else {
        "version": LAYOUT_VERSION, "kind": "beat-trainset", "settings": settings, "items": [], "rejected": {}}
    if info.get("settings") != settings:
        raise ConfigError(f"{root}: built with other settings ({info.get('settings')}); use another --out")
    fonts = soundfonts()
    names = [f.name for f in fonts]
    if info.setdefault("soundfonts", names) != names:  # the draws depend on the list: no mixed sets
        raise ConfigError(f"{root}: rendered with the soundfonts {info['soundfonts']}, here {names} are found;"
                          " install the same ones or use another --out")
    info["excluded_benchmark"] = str(bench_root)
    kept_apart = sorted(str(r) for r in keep_apart)
    if info.setdefault("kept_apart", kept_apart) != kept_apart:
        raise ConfigError(f"{root}: built apart from {info['kept_apart'] or 'no BeatCut'}, not {kept_apart or 'none'};"
                          " use another --out")
    info["licenses"] = {**{f"debian:{k}": v for k, v in DEBIAN_PACKAGES.items()},
                        **{f"music21:{k}": v for k, v in MUSIC21_COLLECTIONS.items()}}
    pieces = training_pieces(src_dir, bench_root, seed=config.seed, keep_apart=keep_apart)
    done: dict[int, str] = {}
    todo = []
    for k, (category, piece) in enumerate(pieces):
        if len(done) + len(todo) >= config.n_items:
            break
        key = str(k)
        if key in info["rejected"]:
            continue
        item_id = f"train{k:05d}-{piece.piece_id.replace('/', '_')}"
        if item_json(root, item_id).is_file():
            done[k] = item_id
        else:
            todo.append((k, category, piece))

    def save() -> None:
        info["items"] = [done[k] for k in sorted(done)]
        write_json(info_path, info)

    jobs = [(root, k, c, p, config, fonts) for k, c, p in todo]
    for job, result, crashed in run_jobs(_make_and_write_job, jobs, workers, cancel=cancel):
        k = job[1]
        item_id, reason = result if result is not None else (None, crashed or "")
        if item_id is None:
            info["rejected"][str(k)] = reason
        else:
            done[k] = item_id
        save()
        if progress is not None:
            progress(len(done), config.n_items, item_id or reason[:60])
    save()
    return info["items"]
