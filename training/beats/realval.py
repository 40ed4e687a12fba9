"""Validation clips of a fine-tuning run: held-out rendered pieces and real recordings.

Every epoch is scored by the whole tracker the engine ships (the weights, the DBN, the bar phase
of :mod:`bgmatch.engine.analysis.bar_phase`) on clips whose BeatNet input and bar cues are
computed once (:func:`clip_of`), so an epoch costs one forward pass per clip.

Rendered MIDI held out by piece cannot see what fine-tuning does to real music: runs 5 and 7 gained
on it and lost agreement with madmom on recordings (``assets/beats/MODEL.md``). With
``bgmatch train beats fit --real-ref REF.json --real-folder DIR`` every epoch is also scored
against ``REF.json`` (madmom's ``--downbeats`` reference of recordings outside the measuring sets,
:mod:`.madmom_reference`) and the epoch kept is the best there.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bgmatch.engine.analysis import beatnet, spectra
from bgmatch.engine.analysis.bar_phase import cue_spectra
from bgmatch.engine.analysis.neural_grid import HOP_LENGTH, decode_activations
from bgmatch.engine.errors import ConfigError, MediaError

from .agreement import load_reference
from .layout import BeatItem
from .evaluate import mean_tracker_scores, score_item

SR_HZ = 22050


@dataclass(frozen=True)
class RealClip:
    """One validation clip, ready for any weights: BeatNet's input, the bar cues, the reference."""

    rel: str
    features: np.ndarray  # BeatNet's input features of the clip
    cues: tuple[np.ndarray, np.ndarray]  # chroma and dB mel spectrogram (bar_phase.cue_spectra)
    beats_s: np.ndarray  # the reference's beats
    downbeats_s: np.ndarray | None  # and downbeats, where it has them


def clip_of(rel: str, y: np.ndarray, *, sr_hz: int, beats_s: np.ndarray,
            downbeats_s: np.ndarray | None) -> RealClip:
    """The :class:`RealClip` of audio ``y`` ``[n]`` at ``sr_hz`` (resampled to BeatNet's rate)."""
    y = np.asarray(y, np.float32)
    if sr_hz != SR_HZ:
        y = spectra.resample(y, orig_sr=sr_hz, target_sr=SR_HZ)
    cues = cue_spectra(spectra.power_spectrogram(y, hop_length=HOP_LENGTH), sr_hz=SR_HZ)
    return RealClip(rel, beatnet.beatnet_features(y, sr_hz=SR_HZ), cues, np.asarray(beats_s, np.float64),
                    None if downbeats_s is None else np.asarray(downbeats_s, np.float64))


def rendered_validation(items: list[BeatItem]) -> list[RealClip]:
    """The clips of held-out rendered items, with their true beats and downbeats."""
    clips = []
    for item in items:
        y, sr = item.load()
        clips.append(clip_of(item.item_id, y, sr_hz=sr, beats_s=item.beats_s, downbeats_s=item.downbeats_s))
    return clips


def load_real_validation(reference: Path, folder: Path, *, max_s: float = 60.0,
                         warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> list[RealClip]:
    """The clips of every file in ``reference`` (paths relative to ``folder``) with beats after 5 s;
    a file that cannot be decoded is left out with one ``warn`` line. ``ConfigError`` if none is left."""
    from bgmatch.engine.analysis.media import decode_audio

    clips = []
    for rel, (beats, downbeats) in sorted(load_reference(reference).items()):
        if len(beats[beats >= 5.0]) < 2:
            continue
        try:
            y = decode_audio(folder / rel, sr_hz=SR_HZ, max_duration_s=max_s)
        except MediaError as exc:
            warn(f"real validation: skipped: {exc}")
            continue
        clips.append(clip_of(rel, y, sr_hz=SR_HZ, beats_s=beats, downbeats_s=downbeats))
    if not clips:
        raise ConfigError(f"{reference}: no file of the reference could be read under {folder}")
    return clips


def score_clips(model: beatnet.BeatNetCRNN, clips: list[RealClip]) -> dict[str, float]:
    """Mean beat F and downbeat F of the whole tracker (``model``, the DBN, the bar phase) against
    the reference on ``clips``."""

    def score(clip: RealClip) -> dict[str, float]:
        track = decode_activations(beatnet.beat_activations(clip.features, model), cues=clip.cues, sr_hz=SR_HZ)
        return score_item(clip.beats_s, track.beat_times_s, clip.downbeats_s,
                          track.downbeat_times_s if clip.downbeats_s is not None else None)

    return mean_tracker_scores(model, clips, score)
