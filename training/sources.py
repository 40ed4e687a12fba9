"""Read a training data set description: the paper's format or an editor's folder of videos.

Both become a :class:`SourceSet`: (video, music) pairs with optional tags and a split, plus
the music gallery of each split. Every media path is checked to lie inside the data root.
"""
from __future__ import annotations

import csv
import glob
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from bgmatch.engine.errors import ConfigError

from .config import SPLITS, DataConfig

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg"})
MUSIC_EXTENSIONS = frozenset({".ogg", ".oga", ".opus", ".mp3", ".flac", ".wav", ".m4a", ".aac"})


@dataclass(frozen=True)
class Pair:
    """One training item: a video (its picture only) and its music."""

    video_id: str
    video_path: Path
    music_id: str
    music_path: Path
    split: str
    tags: tuple[str, ...] = ()
    offset_s: float = 0.0  # where in the music the video starts


@dataclass
class SourceSet:
    """Pairs, extra gallery music, galleries per split, and the problems found while reading."""

    pairs: list[Pair]
    music_paths: dict[str, Path]
    galleries: dict[str, list[str]]
    has_tags: bool
    errors: list[tuple[str, str]] = field(default_factory=list)  # (id, one-line message)


def inside_root(root: Path, relative: str | Path, what: str) -> Path:
    """``root / relative`` resolved; ``ConfigError`` if it leaves ``root``."""
    root = root.resolve()
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise ConfigError(f"[data] {what} {str(relative)!r} is outside {root}")
    return path


def hashed_split(item_id: str, *, valid_fraction: float, test_fraction: float) -> str:
    """A stable split for ``item_id`` from a hash of its name."""
    u = int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=8).digest(), "big") / 2.0**64
    return "test" if u < test_fraction else "valid" if u < test_fraction + valid_fraction else "train"


def read_sources(config: DataConfig) -> SourceSet:
    """The pairs described by ``config`` (``ConfigError`` for a broken description)."""
    root = Path(config.root)
    if not root.is_dir():
        raise ConfigError(f"[data] root {root} is not a folder")
    readers = {"folder": folder_sources, "paper": paper_sources, "beatcut": beatcut_sources}
    sources = readers[config.format](config)
    if set(config.splits) != set(SPLITS):
        sources.pairs = [p for p in sources.pairs if p.split in config.splits]
        sources.galleries = {s: (g if s in config.splits else []) for s, g in sources.galleries.items()}
        sources.music_paths = {m: p for m, p in sources.music_paths.items()
                               if any(m in sources.galleries[s] for s in config.splits)}
    return sources


def beatcut_sources(config: DataConfig) -> SourceSet:
    """A BeatCut benchmark: queries → (query video, its gallery track from the truth's offset)."""
    from .beatcut.layout import BenchLayout

    layout = BenchLayout(config.root)
    root = layout.root.resolve()
    errors: list[tuple[str, str]] = []
    pairs, music_paths, galleries = [], {}, {}
    for split in SPLITS:
        if split not in layout.read_build()["splits"] or split not in config.splits:
            galleries[split] = []
            continue
        tracks = {t.key: Path(t.path) for t in layout.gallery(split)}
        for key, path in tracks.items():
            if not path.is_file():
                errors.append((key, f"{path}: gallery track of split {split!r} is missing"))
        music_paths.update({k: p for k, p in tracks.items() if p.is_file()})
        galleries[split] = sorted(k for k, p in tracks.items() if p.is_file())
        for name, truth in sorted(layout.truth(split).items()):
            video = inside_root(root, layout.queries_dir(split).relative_to(layout.root) / f"{name}.mp4", "query")
            if not video.is_file() or truth.track not in music_paths:
                errors.append((f"{split}/{name}", f"{video}: query video or its track {truth.track!r} is missing"))
                continue
            pairs.append(Pair(f"{split}/{name}", video, truth.track, music_paths[truth.track], split, (),
                              float(truth.offset_s)))
    return SourceSet(pairs, music_paths, galleries, has_tags=False, errors=errors)


def folder_sources(config: DataConfig) -> SourceSet:
    """Every video under ``config.videos``; its soundtrack is its music (id: path without suffix)."""
    root = Path(config.root).resolve()
    folder = inside_root(root, config.videos, "videos folder")
    if not folder.is_dir():
        raise ConfigError(f"[data] videos folder {folder} does not exist")
    rows = _read_tags_csv(root, config) if config.tags_csv else {}
    pairs = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()):
        inside_root(root, path.relative_to(root), "video")
        item_id = path.relative_to(folder).with_suffix("").as_posix()
        tags, split = rows.get(item_id, rows.get(path.name, ((), "")))
        split = split or hashed_split(item_id, valid_fraction=config.valid_fraction, test_fraction=config.test_fraction)
        pairs.append(Pair(item_id, path, item_id, path, split, tags))
    if not pairs:
        raise ConfigError(f"[data] no videos ({', '.join(sorted(VIDEO_EXTENSIONS))}) under {folder}")
    galleries = {s: sorted({p.music_id for p in pairs if p.split == s}) for s in SPLITS}
    return SourceSet(pairs, {}, galleries, has_tags=any(p.tags for p in pairs))


def _read_tags_csv(root: Path, config: DataConfig) -> dict[str, tuple[tuple[str, ...], str]]:
    path = (root / config.tags_csv).resolve()  # a config path, like the root itself: may be anywhere
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "file" not in reader.fieldnames or "tags" not in reader.fieldnames:
                raise ConfigError(f"[data] {path}: the tags CSV needs the columns 'file' and 'tags'")
            out = {}
            for line, row in enumerate(reader, start=2):
                split = (row.get("split") or "").strip()
                if split and split not in SPLITS:
                    raise ConfigError(f"[data] {path}:{line}: split {split!r} is not one of {', '.join(SPLITS)}")
                tags = tuple(t.strip() for t in (row["tags"] or "").split(config.tag_separator) if t.strip())
                name = row["file"].strip()
                out[Path(name).with_suffix("").as_posix() if Path(name).suffix else name] = (tags, split)
                out[name] = (tags, split)
            return out
    except FileNotFoundError:
        raise ConfigError(f"[data] tags_csv {path} does not exist") from None


def paper_sources(config: DataConfig) -> SourceSet:
    """The paper's format: tags JSON, split id lists, gallery ids, media folders."""
    root = Path(config.root).resolve()
    tags_path = inside_root(root, config.tags_json, "tags_json")
    try:
        table = json.loads(tags_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"[data] tags_json {tags_path} does not exist") from None
    except ValueError as error:
        raise ConfigError(f"[data] {tags_path}: invalid JSON ({error})") from None
    if not isinstance(table, dict):
        raise ConfigError(f"[data] {tags_path}: expected an object {{video_id: {{music_id, tags}}}}")
    video_dir = inside_root(root, config.video_dir, "video_dir")
    music_dir = inside_root(root, config.music_dir, "music_dir")
    errors: list[tuple[str, str]] = []
    pairs: list[Pair] = []
    music_paths: dict[str, Path] = {}
    for split, ids_file in (("train", config.train_ids), ("valid", config.valid_ids), ("test", config.test_ids)):
        for video_id in _read_ids(root, ids_file, split):
            entry = table.get(video_id)
            if not isinstance(entry, dict) or not isinstance(entry.get("music_id"), (str, int)):
                errors.append((video_id, f"{tags_path}: no {{music_id, tags}} entry for video {video_id!r}"))
                continue
            music_id = str(entry["music_id"])
            tags = entry.get("tags") or []
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                errors.append((video_id, f"{tags_path}: tags of video {video_id!r} are not a list of strings"))
                continue
            offset_s = entry.get("offset_s", 0.0)
            if not isinstance(offset_s, (int, float)) or isinstance(offset_s, bool) or offset_s < 0:
                errors.append((video_id, f"{tags_path}: offset_s of video {video_id!r} is not a number >= 0"))
                continue
            video_path = _find_media(root, video_dir, video_id, VIDEO_EXTENSIONS, errors)
            music_path = music_paths.get(music_id) or _find_media(root, music_dir, music_id, MUSIC_EXTENSIONS | VIDEO_EXTENSIONS, errors)
            if video_path is None or music_path is None:
                continue
            music_paths[music_id] = music_path
            pairs.append(Pair(video_id, video_path, music_id, music_path, split, tuple(tags), float(offset_s)))
    extra = _read_ids(root, config.gallery_ids, "gallery") if config.gallery_ids else []
    for music_id in extra:
        if music_id not in music_paths:
            path = _find_media(root, music_dir, music_id, MUSIC_EXTENSIONS | VIDEO_EXTENSIONS, errors)
            if path is not None:
                music_paths[music_id] = path
    galleries = {s: sorted({p.music_id for p in pairs if p.split == s}) for s in SPLITS}
    for s in ("valid", "test"):
        galleries[s] = sorted(set(galleries[s]) | {m for m in extra if m in music_paths})
    extra_music = {m: music_paths[m] for m in extra if m in music_paths}
    return SourceSet(pairs, extra_music, galleries, has_tags=any(p.tags for p in pairs), errors=errors)


def _read_ids(root: Path, relative: str, what: str) -> list[str]:
    path = inside_root(root, relative, f"{what} id list")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"[data] {what} id list {path} does not exist") from None
    if path.suffix == ".json":
        try:
            ids = json.loads(text)
        except ValueError as error:
            raise ConfigError(f"[data] {path}: invalid JSON ({error})") from None
        if not isinstance(ids, list):
            raise ConfigError(f"[data] {path}: expected a JSON list of ids")
        return [str(i) for i in ids]
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _find_media(root: Path, folder: Path, item_id: str, extensions: frozenset[str],
                errors: list[tuple[str, str]]) -> Path | None:
    try:
        inside_root(root, folder.relative_to(root) / item_id, "media id")
        base = inside_root(folder, item_id, f"id (in {folder.name}/)")
    except ConfigError as error:
        errors.append((item_id, str(error)))
        return None
    found = sorted(p for p in base.parent.glob(glob.escape(base.name) + ".*")
                   if p.suffix.lower() in extensions and p.is_file())
    if not found:
        errors.append((item_id, f"{base}.*: no media file for id {item_id!r}"))
        return None
    return found[0]
