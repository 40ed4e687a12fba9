"""Prepare a data set once: decode every video and music file into features in lmdb.

Resumable (ids already written are skipped), one clear line per bad file (the batch goes on),
a tqdm progress bar. After the videos and the music, the music clips of every training pair
are tagged by the engine's tagger (``tags``; only the clips training reads: the tagger costs
more than the rest of preparing). A final pass writes the split lists, the target
vocabularies (human tags, the tagger's, the pseudo-tag bins fitted on the training clips) and
the tag-text embeddings.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from librosa.util.exceptions import ParameterError
from tqdm import tqdm

from bgmatch.engine.analysis.media import decode_audio
from bgmatch.engine.config import config_to_dict
from bgmatch.engine.learned.inputs import FeatureConfig, decode_music, music_inputs_from_wave, video_inputs
from bgmatch.engine.learned.tagger import SR_HZ as TAGGER_SR_HZ, Tagger, load_tagger
from bgmatch.engine.errors import BgmatchError, ConfigError, MediaError, ModelError

from .config import SPLITS, TrainConfig
from .prepared import PreparedError, PreparedStore
from .sources import Pair, SourceSet, read_sources
from .targets import clip_descriptors, fit_pseudo_targets, tag_clip_windows, tag_vocabulary, top_tags, track_descriptor
from bgmatch.engine.learned.text import embed_texts, load_text_model, tag_text

#: Version of the ``tags`` records; a record of another version is tagged again.
TAGS_VERSION = 1

ProgressFn = Callable[[dict[str, Any]], None]
CancelFn = Callable[[], bool]
#: Errors one bad media file can raise while it is decoded or analysed.
MEDIA_FAILURES = (BgmatchError, ValueError, RuntimeError, OSError, cv2.error, ParameterError)


@dataclass
class PrepareReport:
    """What :func:`prepare` did."""

    folder: Path
    written: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # id → one-line message
    n_items: dict[str, int] = field(default_factory=dict)  # split → usable pairs
    cancelled: bool = False


def prepare(config: TrainConfig, *, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
            show_bar: bool = True, text_device: str | None = None) -> PrepareReport:
    """Prepare ``config.data`` into ``config.prepared_dir``; return a report."""
    sources = read_sources(config.data)
    report = PrepareReport(config.prepared_dir)
    with PreparedStore(config.prepared_dir, readonly=False) as store:
        _check_features(store, config.features)
        tasks = _tasks(sources)
        pairs = {p.video_id: p for p in sources.pairs}
        tagger = _LazyTagger(config.targets.tagger, device=text_device)
        bar = tqdm(tasks, desc="prepare", unit="file", disable=not show_bar, file=sys.stderr)
        for index, (db, key, path) in enumerate(bar):
            if cancel is not None and cancel():
                report.cancelled = True
                break
            if _done(store, db, key, config):
                report.skipped += 1
            elif db == "tags" and (key in report.failed or tagger.get() is None):
                pass  # its video failed above, or there is no tagger (said once)
            else:
                try:
                    written = (_write_tags(store, pairs[key], config, tagger.get()) if db == "tags"
                               else _write(store, db, key, path, config))
                    report.written += int(written)
                except MEDIA_FAILURES as error:
                    message = str(error) if isinstance(error, MediaError) else f"{path}: {type(error).__name__}: {error}"
                    report.failed[key] = message
                    bar.write(f"error: {message}", file=sys.stderr)
            if progress is not None:
                progress({"stage": "prepare", "step": index + 1, "total": len(tasks),
                          "fraction": (index + 1) / len(tasks), "message": f"prepared {path.name}"})
        bar.close()
        if not report.cancelled:
            report.failed.update(dict(sources.errors))
            report.n_items = _finalize(store, sources, config, report.failed, text_device)
    return report


class _LazyTagger:
    """The engine's tagger, loaded on first use; ``get`` is None (said once) when it cannot be loaded."""

    def __init__(self, kind: str, *, device: str | None) -> None:
        self.kind, self.device = kind, device
        self._tagger: Tagger | None = None
        self._failed = False

    def get(self) -> Tagger | None:
        if self._tagger is None and not self._failed:
            try:
                self._tagger = load_tagger(self.kind, device=self.device or "cpu")  # type: ignore[arg-type]
            except ModelError as error:
                self._failed = True
                print(f"warning: {error}; the training pairs get no tagger tags ([targets] source = 'tags' "
                      f"then uses their human tags alone)", file=sys.stderr)
        return self._tagger


def _tasks(sources: SourceSet) -> list[tuple[str, str, Path]]:
    music = {p.music_id: p.music_path for p in sources.pairs}
    music.update(sources.music_paths)
    return ([("video", p.video_id, p.video_path) for p in sources.pairs] + [("music", m, path) for m, path in music.items()]
            + [("tags", p.video_id, p.music_path) for p in sources.pairs if p.split == "train"])


def _done(store: PreparedStore, db: str, key: str, config: TrainConfig) -> bool:
    """Whether ``key`` is prepared (a video needs its motion record too, which older preparations
    lack; a tags record must be of this version and tagger)."""
    if not store.has(db, key):
        return False
    if db == "video":
        return store.has("motion", key)
    if db == "tags":
        meta = store.get_arrays("tags", key)[1]
        return (meta.get("version"), meta.get("tagger"), meta.get("max_clips")) == (
            TAGS_VERSION, config.targets.tagger, config.match.max_clips)
    return True


def _check_features(store: PreparedStore, features: FeatureConfig) -> None:
    if not store.manifest_path.exists():
        return
    stored = store.read_manifest().get("features")
    if stored != config_to_dict(features):
        raise ConfigError(f"[features] differ from those the data in {store.folder} was prepared with; "
                          f"use another data.prepared_dir or delete that folder")


def _write(store: PreparedStore, db: str, key: str, path: Path, config: TrainConfig) -> bool:
    features = config.features
    if db == "video":
        video = video_inputs(path, config=features, max_duration_s=config.data.max_video_s)
        store.put_arrays("motion", key, {"times_s": video.motion.times_s, "motion": video.motion.motion,
                                          "cut_times_s": video.motion.cut_times_s},
                         {"duration_s": video.motion.duration_s, "width_px": video.motion.width_px})
        store.put_arrays("video", key, {"frames": video.frames, "flow_tokens": video.flow_tokens},
                         {"duration_s": video.duration_s, "source": path.name})
        return True
    sr = features.rhythm_sr_hz
    y, mel_y = decode_music(path, config=features, max_duration_s=config.data.max_music_s)
    if len(y) < sr:
        raise MediaError(path, f"audio is too short ({len(y) / sr:.2f} s; at least 1 s needed)")
    music = music_inputs_from_wave(y, sr_hz=sr, config=features, mel_y=mel_y)
    descriptors = clip_descriptors(y, sr_hz=sr, analysis=music.analysis, clip_s=features.clip_s)
    store.put_arrays("music", key, {
        "log_mel": music.log_mel.astype(np.float16), **music.analysis.arrays(), "descriptors": descriptors,
        "track_descriptor": track_descriptor(descriptors, music.analysis),
    }, {"duration_s": music.duration_s, "source": path.name})
    return True


def _write_tags(store: PreparedStore, pair: Pair, config: TrainConfig, tagger: Tagger) -> bool:
    """Tag the music clips ``pair``'s video was cut to (as many as training reads of it); False
    when its video or its music could not be prepared (said above)."""
    if not (store.has("video", pair.video_id) and store.has("music", pair.music_id)):
        return False
    clip_s = config.features.clip_s
    n_clips = min(len(store.get_arrays("video", pair.video_id)[0]["frames"]), config.match.max_clips)
    y = decode_audio(pair.music_path, sr_hz=TAGGER_SR_HZ, offset_s=pair.offset_s,
                     max_duration_s=min(n_clips * clip_s, config.data.max_music_s))
    probs = tag_clip_windows(tagger, y, sr_hz=TAGGER_SR_HZ, n_clips=n_clips, clip_s=clip_s)
    store.put_arrays("tags", pair.video_id, {"probs": probs},
                     {"version": TAGS_VERSION, "tagger": config.targets.tagger, "tag_names": list(tagger.tag_names),
                      "max_clips": config.match.max_clips, "offset_s": pair.offset_s,
                      "source": pair.music_path.name})
    return True


def _finalize(store: PreparedStore, sources: SourceSet, config: TrainConfig, failed: dict[str, str],
              text_device: str | None) -> dict[str, int]:
    """Write items, the target vocabularies, the text embeddings and the manifest."""
    music_ids = set(store.keys("music"))
    video_ids = set(store.keys("video"))
    pairs = [p for p in sources.pairs if p.video_id in video_ids and p.music_id in music_ids]
    for stale in set(store.keys("items")) - {p.video_id for p in pairs}:
        store.delete("items", stale)
    for p in pairs:
        store.put_json("items", p.video_id, {"music_id": p.music_id, "split": p.split, "tags": list(p.tags),
                                             "offset_s": p.offset_s})
    splits = {s: [p.video_id for p in pairs if p.split == s] for s in SPLITS}
    galleries = {s: [m for m in sources.galleries[s] if m in music_ids] for s in SPLITS}
    if not splits["train"]:
        raise PreparedError(f"{store.folder}: no usable training pairs ({len(failed)} failed); see the errors above")
    train_music = sorted({p.music_id for p in pairs if p.split == "train"})
    descriptors = np.concatenate([store.get_arrays("music", m)[0]["descriptors"] for m in train_music])
    spec = fit_pseudo_targets(descriptors, tempo_edges_bpm=config.targets.tempo_edges_bpm,
                              quantile_bins=config.targets.quantile_bins)
    vocabulary = tag_vocabulary((p.tags for p in pairs if p.split == "train"), min_count=config.targets.min_tag_count)
    tagger_names: list[str] = []
    texts = {}
    for p in pairs:
        tags = list(p.tags)
        if store.has("tags", p.video_id):
            arrays, meta = store.get_arrays("tags", p.video_id)
            tagger_names = list(meta["tag_names"])
            known = {t.lower() for t in tags}
            tags += [t for t in top_tags(arrays["probs"], tagger_names, k=config.targets.text_tags) if t not in known]
        if tags:
            texts[f"tags:{p.video_id}"] = tag_text(tags)
    for m in sorted({p.music_id for p in pairs} | {m for g in galleries.values() for m in g}):
        texts[f"pseudo:{m}"] = tag_text(spec.tags(store.get_arrays("music", m)[0]["track_descriptor"]))
    text_dim = _write_texts(store, texts, config, text_device)
    store.write_manifest({
        "data_format": config.data.format,
        "features": config_to_dict(config.features),
        "splits": splits,
        "galleries": galleries,
        "has_tags": bool(vocabulary),
        "tag_vocabulary": vocabulary,
        "tagger_vocabulary": tagger_names,
        "pseudo_targets": config_to_dict(spec),
        "pseudo_target_names": spec.names(),
        "text_model": config.text.model,
        "text_dim": text_dim,
        "failed": dict(sorted(failed.items())),
    })
    return {s: len(v) for s, v in splits.items()}


def _write_texts(store: PreparedStore, texts: dict[str, str], config: TrainConfig, device: str | None) -> int:
    """Embed the texts whose stored embedding is missing or of another text; return the width."""
    todo = []
    for key, text in texts.items():
        if store.has("text", key):
            arrays, meta = store.get_arrays("text", key)
            if meta.get("text") == text and meta.get("model") == config.text.model:
                continue
        todo.append(key)
    if todo:
        model = load_text_model(config.text.model, device=device)
        vectors = embed_texts([texts[k] for k in todo], model=model, batch_size=config.text.batch_size)
        for key, vector in zip(todo, vectors):
            store.put_arrays("text", key, {"embedding": vector}, {"text": texts[key], "model": config.text.model})
    any_key = next(iter(texts))
    return int(store.get_arrays("text", any_key)[0]["embedding"].shape[0])

