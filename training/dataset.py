"""Reading prepared data for training: items of a split, their arrays, targets and batches.

Batches are drawn by step number alone (:func:`batch_indices`), so a resumed run, a
single-process run and a DDP run all see the same global batches.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from bgmatch.engine.config import config_from_dict
from bgmatch.engine.learned.inputs import FeatureConfig, MusicInputs, music_clip_inputs
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.analysis.motion import VideoAnalysis
from bgmatch.engine.analysis.periodicity import music_periodicity, video_periodicity
from bgmatch.engine.analysis.rhythm import MusicAnalysis

from .prepared import PreparedError, PreparedStore
from .targets import PseudoTargetSpec, encode_tag_targets, tag_target_names


@dataclass(frozen=True)
class Item:
    """One prepared (video, music) pair."""

    video_id: str
    music_id: str
    split: str
    tags: tuple[str, ...]
    offset_s: float = 0.0

    @property
    def segment(self) -> str:
        """Key of the music segment the video was cut to (the music id when it starts at 0 s)."""
        return segment_key(self.music_id, self.offset_s)


def segment_key(music_id: str, offset_s: float) -> str:
    """``music_id``, or ``music_id@offset`` for a segment that starts later in the track."""
    return music_id if offset_s == 0 else f"{music_id}@{offset_s:g}"


@dataclass
class MusicRecord:
    """Prepared arrays of one music id."""

    inputs: MusicInputs
    descriptors: np.ndarray  # [n_clips, 6]
    track_descriptor: np.ndarray  # [6]

    @property
    def n_clips(self) -> int:
        return len(self.descriptors)


class PreparedData:
    """Read-only view of a prepared folder, with a small in-memory cache of decoded records."""

    def __init__(self, folder: str | Path, *, cache_size: int = 1024) -> None:
        self.store = PreparedStore(folder, readonly=True)
        self.folder = Path(folder)
        self.manifest = self.store.read_manifest()
        try:
            self.features = config_from_dict(FeatureConfig, self.manifest.get("features"), where="features")
            self.pseudo = config_from_dict(PseudoTargetSpec, self.manifest.get("pseudo_targets"),
                                           where="pseudo_targets")
        except ConfigError as error:
            raise ConfigError(f"{self.store.manifest_path}: {error}") from None
        self.video = lru_cache(maxsize=cache_size)(self._video)  # type: ignore[method-assign]
        self.music = lru_cache(maxsize=cache_size)(self._music)  # type: ignore[method-assign]
        self.video_periodicity = lru_cache(maxsize=cache_size)(self._video_periodicity)  # type: ignore[method-assign]
        self.text = lru_cache(maxsize=cache_size * 4)(self._text)  # type: ignore[method-assign]
        self.tag_probs = lru_cache(maxsize=cache_size)(self._tag_probs)  # type: ignore[method-assign]

    def close(self) -> None:
        self.store.close()

    def items(self, split: str) -> list[Item]:
        """The pairs of ``split`` (this reads the ground truth: never call it from a scorer)."""
        out = []
        for video_id in self.manifest["splits"].get(split, []):
            entry = self.store.get_json("items", video_id)
            out.append(Item(video_id, entry["music_id"], entry["split"], tuple(entry["tags"]),
                            float(entry.get("offset_s", 0.0))))
        return out

    def query_ids(self, split: str) -> list[str]:
        """Video ids of ``split`` (no ground truth)."""
        return list(self.manifest["splits"].get(split, []))

    def gallery(self, split: str) -> list[str]:
        """Music ids of the gallery of ``split``."""
        return list(self.manifest["galleries"].get(split, []))

    def _video(self, video_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(frames uint8 [n, frames_per_clip, S, S], flow tokens int64 [n])."""
        arrays, _ = self.store.get_arrays("video", video_id)
        return arrays["frames"], arrays["flow_tokens"]

    def _video_periodicity(self, video_id: str) -> np.ndarray:
        """Periodicity features [n_clips, PERIODICITY_DIM] of the video's clips."""
        arrays, meta = self.store.get_arrays("motion", video_id)
        analysis = VideoAnalysis(float(meta["duration_s"]), arrays["times_s"], arrays["motion"], arrays["cut_times_s"],
                                 int(meta["width_px"]))
        return video_periodicity(analysis, len(self.video(video_id)[0]), clip_s=self.features.clip_s)

    def music_periodicity(self, music_id: str, starts_s: np.ndarray) -> np.ndarray:
        """Periodicity features [k, PERIODICITY_DIM] of the music clips starting at ``starts_s`` [k]."""
        return music_periodicity(self.music(music_id).inputs.analysis, starts_s, clip_s=self.features.clip_s)

    def _music(self, music_id: str) -> MusicRecord:
        arrays, meta = self.store.get_arrays("music", music_id)
        analysis = MusicAnalysis.from_arrays(arrays)
        inputs = MusicInputs(arrays["log_mel"].astype(np.float32), analysis, float(meta["duration_s"]))
        return MusicRecord(inputs, arrays["descriptors"], arrays["track_descriptor"])

    def _text(self, key: str) -> np.ndarray:
        return self.store.get_arrays("text", key)[0]["embedding"]

    def _tag_probs(self, video_id: str) -> np.ndarray:
        """The tagger's probabilities [n_clips, n_tagger_tags] of the music clips ``video_id`` was cut to."""
        if not self.store.has("tags", video_id):
            raise PreparedError(f"{self.folder}: no tagger tags for {video_id!r} (prepared by an older bgmatch, or "
                                f"without the tagger); run prepare again: it keeps what is there and adds them")
        return self.store.get_arrays("tags", video_id)[0]["probs"]


class TargetSet:
    """The unified targets (``[targets] source``): music tags per clip, or pseudo-tags per music clip.

    ``tags``: the tagger's probabilities of each music clip (soft targets) over its vocabulary,
    then the human tags of the training split (target 1 where the pair has them). ``pseudo``:
    the ablation's one-of-each-group pseudo-tags of the music clip.
    """

    def __init__(self, data: PreparedData, source: Literal["tags", "pseudo"]) -> None:
        self.kind: Literal["tags", "pseudo"] = source
        self.data = data
        if source == "tags":
            tagger_tags = data.manifest.get("tagger_vocabulary")
            if tagger_tags is None:
                raise PreparedError(f"{data.folder}: prepared before training used the tagger's tags; run prepare "
                                    f"again (it keeps what is there and adds them)")
            self.n_tagger = len(tagger_tags)
            self.names: list[str] = tag_target_names(tagger_tags, data.manifest["tag_vocabulary"])
            if not self.names:
                raise ConfigError(f"[targets] source = 'tags', but the data in {data.folder} has neither tagger "
                                  f"tags nor human tags; use source = 'pseudo'")
        else:
            self.names = list(data.pseudo.names())

    def clip_targets(self, item: Item, n_clips: int) -> np.ndarray:
        """Targets [n_clips, n_targets] of the first ``n_clips`` clips of ``item``."""
        if self.kind == "tags":
            if self.n_tagger:
                probs = self.data.tag_probs(item.video_id)
                probs = probs[np.minimum(np.arange(n_clips), len(probs) - 1)]
            else:
                probs = np.zeros((n_clips, 0), np.float32)
            return encode_tag_targets(probs, item.tags, self.names)
        descriptors = self.data.music(item.music_id).descriptors
        first = int(round(item.offset_s / self.data.features.clip_s))
        index = np.minimum(first + np.arange(n_clips), len(descriptors) - 1)
        return self.data.pseudo.encode(descriptors[index])

    def text_key(self, item: Item) -> str:
        """Key of the item's tag-text embedding in the prepared ``text`` database."""
        if self.kind == "tags" and self.data.store.has("text", f"tags:{item.video_id}"):
            return f"tags:{item.video_id}"
        return f"pseudo:{item.music_id}"


def batch_indices(step: int, *, n_samples: int, batch_size: int, seed: int) -> np.ndarray:
    """Sample indices [batch_size] of global batch ``step``: consecutive slices of a stream of
    seeded epoch permutations (an index can repeat within a batch only when n_samples < batch_size)."""
    positions = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs = positions // n_samples
    out = np.empty(batch_size, np.int64)
    for epoch in np.unique(epochs):
        perm = np.random.default_rng([seed, int(epoch)]).permutation(n_samples)
        sel = epochs == epoch
        out[sel] = perm[positions[sel] % n_samples]
    return out


def rank_slice(indices: np.ndarray, *, rank: int, world_size: int) -> np.ndarray:
    """This rank's contiguous share of a global batch (batch size divisible by ``world_size``)."""
    if len(indices) % world_size:
        raise ConfigError(f"batch_size {len(indices)} is not divisible by the {world_size} processes")
    share = len(indices) // world_size
    return indices[rank * share:(rank + 1) * share]


# -- pretraining samples ---------------------------------------------------------------------
def pretrain_samples(data: PreparedData, items: list[Item], *, max_clips: int) -> list[tuple[int, int]]:
    """(item index, clip index) of every clip that has both a video clip and a music clip."""
    out = []
    for i, item in enumerate(items):
        music_clips = data.music(item.music_id).n_clips - int(item.offset_s // data.features.clip_s)
        n = min(len(data.video(item.video_id)[0]), max(music_clips, 1), max_clips)
        out.extend((i, c) for c in range(n))
    return out


def pretrain_batch(data: PreparedData, items: list[Item], samples: list[tuple[int, int]], targets: TargetSet,
                   ) -> dict[str, torch.Tensor]:
    """``mel`` [B, F, n_mels], ``frames`` [B, frames_per_clip, S, S] in [0, 1], ``targets`` [B, T]."""
    mels, frames, target_rows = [], [], []
    clip_s = data.features.clip_s
    for item_index, clip in samples:
        item = items[item_index]
        start = np.array([item.offset_s + clip * clip_s])
        mel, _ = music_clip_inputs(data.music(item.music_id).inputs, start, config=data.features)
        mels.append(mel[0])
        frames.append(data.video(item.video_id)[0][clip])
        target_rows.append(targets.clip_targets(item, clip + 1)[clip])
    return {
        "mel": torch.from_numpy(np.stack(mels)),
        "frames": torch.from_numpy(np.stack(frames)).float() / 255.0,
        "targets": torch.from_numpy(np.stack(target_rows)),
    }
