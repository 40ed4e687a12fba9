"""Validation of a fine-tuning run on real recordings: a reference's beats and downbeats.

Rendered MIDI held out by piece cannot see what fine-tuning does to real music: runs 5 and 7 gained
on it and lost agreement with madmom on recordings (``assets/beats/MODEL.md``). With
``bgmatch train beats fit --real-ref REF.json --real-folder DIR`` every epoch is also scored
against ``REF.json`` (madmom's ``--downbeats`` reference of recordings outside the measuring sets,
:mod:`.madmom_reference`) and the epoch kept is the best there. The features, chroma and mel
spectrogram of each file are computed once; an epoch costs one forward pass per file.
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
from .evaluate import mean_tracker_scores, score_item

SR_HZ = 22050


@dataclass(frozen=True)
class RealClip:
    """One recording's first seconds, ready for any weights: BeatNet's input and the bar cues."""

    rel: str
    features: np.ndarray  # BeatNet's input features of the clip
    cues: tuple[np.ndarray, np.ndarray]  # chroma and dB mel spectrogram (bar_phase.cue_spectra)
    beats_s: np.ndarray  # the reference's beats
    downbeats_s: np.ndarray | None  # and downbeats, where it has them


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
        cues = cue_spectra(spectra.power_spectrogram(y, hop_length=HOP_LENGTH), sr_hz=SR_HZ)
        clips.append(RealClip(rel, beatnet.beatnet_features(y, sr_hz=SR_HZ), cues, beats, downbeats))
    if not clips:
        raise ConfigError(f"{reference}: no file of the reference could be read under {folder}")
    return clips


def score_real(model: beatnet.BeatNetCRNN, clips: list[RealClip]) -> dict[str, float]:
    """Mean beat F and downbeat F of the whole tracker (``model``, the DBN, the bar phase) against
    the reference on ``clips``."""

    def score(clip: RealClip) -> dict[str, float]:
        track = decode_activations(beatnet.beat_activations(clip.features, model), cues=clip.cues, sr_hz=SR_HZ)
        return score_item(clip.beats_s, track.beat_times_s, clip.downbeats_s,
                          track.downbeat_times_s if clip.downbeats_s is not None else None)

    return mean_tracker_scores(model, clips, score)
