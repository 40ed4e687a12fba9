"""The unified target set both encoders are pretrained on: music tags, or pseudo-tags (the ablation).

Tags (the paper's target): each pair's music clips tagged by the engine's musicnn tagger (MSD +
MTT vocabularies, probabilities as soft targets, :func:`tag_clip_windows`) plus the pair's human
tags (target 1). Pseudo-tags come from per-clip descriptors of the pair's music (:func:`clip_descriptors`):
tempo (fixed bins), loudness, brightness and onset density (quantile bins of the training
clips), mode and key (Krumhansl–Schmuckler profiles on chroma). Each is a named tag, so a clip's
pseudo-tags can also be written as text and embedded like human tags.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import librosa
import numpy as np

from bgmatch.engine.analysis.rhythm import MusicAnalysis
from bgmatch.engine.learned.tagger import HOP, PATCH_FRAMES, SR_HZ, Tagger, log_mel, mel_patches

DESCRIPTOR_FIELDS = ("tempo_bpm", "loudness_db", "brightness_hz", "onset_rate_hz", "key", "mode")
"""Columns of a descriptor array [n, 6]; ``key`` is 0..11 (C..B), ``mode`` 0 major / 1 minor."""

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_LEVEL_WORDS = {
    "loudness": ("quiet", "moderately loud", "loud"),
    "brightness": ("dark timbre", "warm timbre", "bright timbre"),
    "onset": ("sparse rhythm", "steady rhythm", "busy rhythm"),
}


def key_and_mode(chroma: np.ndarray) -> tuple[int, int]:
    """Best-correlated key (0..11) and mode (0 major, 1 minor) of a mean chroma vector [12]."""
    if not np.any(chroma > 0):
        return 0, 0
    scores = [np.corrcoef(chroma, np.roll(profile, k))[0, 1] for profile in (_MAJOR, _MINOR) for k in range(12)]
    best = int(np.nanargmax(scores))
    return best % 12, best // 12


def clip_descriptors(y: np.ndarray, *, sr_hz: int, analysis: MusicAnalysis, clip_s: float,
                     n_clips: int | None = None) -> np.ndarray:
    """Descriptors [n_clips, 6] (``DESCRIPTOR_FIELDS``) of consecutive ``clip_s`` clips of ``y`` [n].

    ``analysis`` must come from the same audio (its hop sets the frame grid).
    """
    hop = int(round(sr_hz / analysis.frame_rate_hz))
    if n_clips is None:
        n_clips = max(1, int(np.ceil(len(y) / sr_hz / clip_s - 1e-6)))
    power = np.abs(librosa.stft(y, n_fft=2048, hop_length=hop)) ** 2  # one STFT for both
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(power), sr=sr_hz, hop_length=hop)[0]
    chroma = librosa.feature.chroma_stft(S=power, sr=sr_hz, hop_length=hop)
    onsets_s = librosa.onset.onset_detect(onset_envelope=analysis.onset_envelope, sr=sr_hz, hop_length=hop,
                                          units="time")
    frame_times = np.arange(max(len(centroid), len(analysis.rms))) / analysis.frame_rate_hz
    beats = analysis.beat_times_s
    out = np.zeros((n_clips, len(DESCRIPTOR_FIELDS)), np.float32)
    for i in range(n_clips):
        lo, hi = i * clip_s, (i + 1) * clip_s
        frames = (frame_times >= lo) & (frame_times < hi)
        in_clip = beats[(beats >= lo) & (beats < hi)]
        tempo = 60.0 / float(np.median(np.diff(in_clip))) if len(in_clip) >= 3 else analysis.tempo_bpm
        rms = analysis.rms[frames[: len(analysis.rms)]]
        cen = centroid[frames[: len(centroid)]]
        chr_ = chroma[:, frames[: chroma.shape[1]]]
        key, mode = key_and_mode(chr_.mean(axis=1) if chr_.size else np.zeros(12))
        out[i] = (
            tempo,
            20.0 * np.log10(float(rms.mean()) + 1e-6) if rms.size else -120.0,
            float(cen.mean()) if cen.size else 0.0,
            float(((onsets_s >= lo) & (onsets_s < hi)).sum()) / clip_s,
            key,
            mode,
        )
    return out


def track_descriptor(descriptors: np.ndarray, analysis: MusicAnalysis) -> np.ndarray:
    """One descriptor [6] for a whole track from its clip descriptors [n, 6]."""
    out = np.median(descriptors, axis=0).astype(np.float32)
    out[0] = analysis.tempo_bpm
    key_mode = Counter(zip(descriptors[:, 4].astype(int), descriptors[:, 5].astype(int))).most_common(1)[0][0]
    out[4], out[5] = key_mode
    return out


@dataclass(frozen=True)
class PseudoTargetSpec:
    """Bin edges that turn descriptors into pseudo-tags; fitted once on the training clips."""

    tempo_edges_bpm: tuple[float, ...]
    loudness_edges_db: tuple[float, ...]
    brightness_edges_hz: tuple[float, ...]
    onset_edges_hz: tuple[float, ...]

    def names(self) -> list[str]:
        """The tag names, in target-vector order."""
        t = self.tempo_edges_bpm
        tempo = [f"slow tempo under {t[0]:g} bpm"]
        tempo += [f"tempo {a:g} to {b:g} bpm" for a, b in zip(t, t[1:])]
        tempo += [f"fast tempo over {t[-1]:g} bpm"]
        return (tempo + _levels("loudness", self.loudness_edges_db) + _levels("brightness", self.brightness_edges_hz)
                + _levels("onset", self.onset_edges_hz) + ["major key", "minor key"]
                + [f"key of {p}" for p in PITCH_CLASSES])

    def encode(self, descriptors: np.ndarray) -> np.ndarray:
        """Multi-hot targets [n, n_targets] (float32) of descriptors [n, 6]; one tag per group."""
        d = np.atleast_2d(descriptors)
        groups = [
            (np.searchsorted(self.tempo_edges_bpm, d[:, 0], side="right"), len(self.tempo_edges_bpm) + 1),
            (np.searchsorted(self.loudness_edges_db, d[:, 1], side="right"), len(self.loudness_edges_db) + 1),
            (np.searchsorted(self.brightness_edges_hz, d[:, 2], side="right"), len(self.brightness_edges_hz) + 1),
            (np.searchsorted(self.onset_edges_hz, d[:, 3], side="right"), len(self.onset_edges_hz) + 1),
            (d[:, 5].astype(np.int64), 2),
            (d[:, 4].astype(np.int64), 12),
        ]
        out = np.zeros((len(d), sum(size for _, size in groups)), np.float32)
        start = 0
        for index, size in groups:
            out[np.arange(len(d)), start + np.clip(index, 0, size - 1)] = 1.0
            start += size
        return out

    def tags(self, descriptor: np.ndarray) -> list[str]:
        """The tag names of one descriptor [6]."""
        names = self.names()
        return [names[i] for i in np.flatnonzero(self.encode(descriptor)[0])]


def _levels(kind: str, edges: Sequence[float]) -> list[str]:
    words = _LEVEL_WORDS[kind]
    if len(edges) + 1 == len(words):
        return list(words)
    return [f"{kind} level {i + 1} of {len(edges) + 1}" for i in range(len(edges) + 1)]


def fit_pseudo_targets(descriptors: np.ndarray, *, tempo_edges_bpm: Sequence[float], quantile_bins: int
                       ) -> PseudoTargetSpec:
    """Quantile edges of loudness, brightness and onset density over clip descriptors [n, 6]."""
    q = np.arange(1, quantile_bins) / quantile_bins

    def edges(column: int) -> tuple[float, ...]:
        values = descriptors[:, column] if len(descriptors) else np.zeros(1)
        return tuple(float(x) for x in np.quantile(values, q))

    return PseudoTargetSpec(tuple(float(x) for x in tempo_edges_bpm), edges(1), edges(2), edges(3))


def tag_vocabulary(tag_sets: Iterable[Sequence[str]], *, min_count: int = 1) -> list[str]:
    """Sorted tags that occur in at least ``min_count`` of ``tag_sets``."""
    counts = Counter(tag for tags in tag_sets for tag in set(tags))
    return sorted(tag for tag, n in counts.items() if n >= min_count)


def encode_tags(tags: Sequence[str], vocabulary: Sequence[str]) -> np.ndarray:
    """Multi-hot [len(vocabulary)] float32 of ``tags`` (tags outside the vocabulary are dropped)."""
    index = {t: i for i, t in enumerate(vocabulary)}
    out = np.zeros(len(vocabulary), np.float32)
    for tag in tags:
        if tag in index:
            out[index[tag]] = 1.0
    return out


# -- tagger targets ----------------------------------------------------------------------------
def clip_patches(mel: np.ndarray, *, n_clips: int, clip_s: float) -> np.ndarray:
    """One musicnn patch [n_clips, 187, 96] per ``clip_s`` clip of a musicnn log-mel [T, 96].

    The tagger sees 3 s patches; each clip gets the patch centred in it (clamped to the audio;
    audio shorter than one patch is repeat-padded as musicnn does).
    """
    if mel.shape[0] < PATCH_FRAMES:
        patch = mel_patches(mel)[0][0]
        return np.repeat(patch[None], n_clips, axis=0)
    frames_per_s = SR_HZ / HOP
    centres = (np.arange(n_clips) + 0.5) * clip_s * frames_per_s
    starts = np.clip(np.round(centres - PATCH_FRAMES / 2).astype(int), 0, mel.shape[0] - PATCH_FRAMES)
    return np.stack([mel[s:s + PATCH_FRAMES] for s in starts])


def tag_clip_windows(tagger: Tagger, y: np.ndarray, *, sr_hz: int, n_clips: int, clip_s: float) -> np.ndarray:
    """Tag probabilities [n_clips, n_tags] (``tagger.tag_names``) of consecutive ``clip_s`` clips of ``y`` [n].

    ``y`` is mono audio at ``sr_hz`` that starts where the first clip starts.
    """
    if n_clips < 1:
        raise ValueError(f"n_clips must be >= 1, got {n_clips}")
    mel = log_mel(y, sr_hz=sr_hz)
    return tagger.tag_patches(clip_patches(mel, n_clips=n_clips, clip_s=clip_s)).astype(np.float32)


def top_tags(probs: np.ndarray, tag_names: Sequence[str], *, k: int) -> list[str]:
    """The ``k`` most probable tags of clip probabilities [n, T] averaged over the clips, best first."""
    mean = np.atleast_2d(probs).mean(axis=0)
    return [tag_names[i] for i in np.argsort(-mean, kind="stable")[:k]]


def tag_target_names(tagger_tags: Sequence[str], human_tags: Sequence[str]) -> list[str]:
    """The tag target vocabulary: the tagger's tags, then the human tags it does not know (lower-cased)."""
    known = {t.lower() for t in tagger_tags}
    extra = sorted({t.strip().lower() for t in human_tags if t.strip()} - known)
    return [t.lower() for t in tagger_tags] + extra


def encode_tag_targets(tagger_probs: np.ndarray, human_tags: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """Soft targets [n, len(names)]: the tagger's probabilities [n, n_tagger] in the first columns,
    1 for each human tag (also where the tagger knows the tag)."""
    probs = np.atleast_2d(tagger_probs)
    out = np.zeros((len(probs), len(names)), np.float32)
    out[:, :probs.shape[1]] = probs
    index = {t: i for i, t in enumerate(names)}
    for tag in human_tags:
        if tag.strip().lower() in index:
            out[:, index[tag.strip().lower()]] = 1.0
    return out
