"""Editor styles of the ground-truth BeatCut: where each places its cuts, from reference times only.

Every style is a :class:`~.edit.CutSource` built from a track's :class:`TrackReference` (beats,
downbeats and phrase starts from a MIDI file's own tempo and meter map, or an independent
tracker's for recordings). None calls bgmatch's analysis: the energy that sets shot lengths and
motion is librosa's RMS of the decoded audio (:class:`~.edit.ReferenceRhythm`).

* ``beats`` — cuts every 1–8 reference beats (:func:`~.edit.plan_cuts`, faster where louder);
* ``downbeats`` — cuts on bar lines only, every 1, 2 or 4 bars;
* ``hits`` — cuts on audible hits: the strongest onsets of the audio (:func:`hit_times`), wherever
  the energy jumps, not on the grid;
* ``phrases`` — a scene change on every phrase start (every 4 bars from the first downbeat),
  beat cuts every 1–4 beats inside a phrase, each scene shot from its own two sources;
* ``ramped`` — on beats as ``beats``, but every shot speed-ramped (the footage's speed changes
  smoothly within the shot).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import librosa
import numpy as np

from bgmatch.engine.errors import ConfigError

from .edit import CutPlan, EditConfig, ReferenceRhythm, energy_curve, energy_levels, plan_cuts

Style = Literal["beats", "downbeats", "hits", "phrases", "ramped"]
STYLES: tuple[Style, ...] = ("beats", "downbeats", "hits", "phrases", "ramped")
#: Styles that need bar lines (a reference with downbeats).
BAR_STYLES = frozenset({"downbeats", "phrases"})
PHRASE_BARS = 4
RAMP = 0.6  # ramped shots run from 0.4× to 1.6× their speed (or back)
HOP = 512


@dataclass(frozen=True)
class TrackReference:
    """Reference times of one whole track (s from its start): beats, downbeats, phrase starts."""

    beats_s: tuple[float, ...]
    downbeats_s: tuple[float, ...]  # empty where the meter is unknown
    source: str  # "midi" (the file's own maps) or "madmom" (an independent tracker)

    @property
    def phrases_s(self) -> tuple[float, ...]:
        """Every :data:`PHRASE_BARS`-th downbeat from the first."""
        return tuple(self.downbeats_s[::PHRASE_BARS])

    def to_dict(self) -> dict:
        return {"beats_s": list(self.beats_s), "downbeats_s": list(self.downbeats_s),
                "phrases_s": list(self.phrases_s), "source": self.source}

    @classmethod
    def from_dict(cls, d: dict) -> "TrackReference":
        return cls(tuple(d["beats_s"]), tuple(d["downbeats_s"]), d["source"])


def hit_times(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """Onsets of ``y`` ``[n]`` and their strengths: ``(times_s [H], strength [H])``.

    A spectral-flux peak picker, not bgmatch's beat code: librosa's onset strength on a log-mel
    spectrogram with SuperFlux's vibrato suppression (``lag=2``, ``max_size=3``), peaks picked by
    ``librosa.onset.onset_detect`` without backtracking. It hears where the energy jumps; it knows
    no tempo and no grid.
    """
    env = librosa.onset.onset_strength(y=np.asarray(y, np.float32), sr=sr_hz, hop_length=HOP, lag=2, max_size=3)
    frames = librosa.onset.onset_detect(onset_envelope=env, sr=sr_hz, hop_length=HOP, backtrack=False)
    return librosa.frames_to_time(frames, sr=sr_hz, hop_length=HOP), env[frames].astype(np.float64)


def _hit_cuts(times_s: np.ndarray, strength: np.ndarray, energy_at, *, duration_s: float,
              config: EditConfig, rng: np.random.Generator) -> np.ndarray:
    """Greedy hit cuts in video time: after each cut, the strongest hit 0.4–4 s later (shorter
    windows where the music is louder), snapped to the frame grid."""
    fps, cuts, last = config.fps, [], 0.0
    while True:
        e = float(energy_at(last))
        longest = config.min_shot_s + (4.0 - config.min_shot_s) * (1.0 - e) * float(rng.uniform(0.6, 1.0))
        window = (times_s >= last + config.min_shot_s) & (times_s <= last + max(longest, config.min_shot_s + 0.5))
        window &= times_s <= duration_s - config.min_shot_s
        if not window.any():
            later = times_s > last + config.min_shot_s
            if not (later & (times_s <= duration_s - config.min_shot_s)).any():
                break
            window = later & (times_s <= duration_s - config.min_shot_s)
            window &= times_s <= times_s[window][0] + 1.0
        idx = np.flatnonzero(window)
        t = round(float(times_s[idx[int(np.argmax(strength[idx]))]]) * fps) / fps
        if t - last >= config.min_shot_s:
            cuts.append(t)
        last = max(t, last + 1.0 / fps)
    return np.asarray(cuts, np.float64)


@dataclass(frozen=True)
class StyleCuts:
    """The :class:`~.edit.CutSource` of one editor style over a track's reference times."""

    style: Style
    reference: TrackReference

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ConfigError(f"unknown editor style {self.style!r} (choose from {', '.join(STYLES)})")
        if self.style in BAR_STYLES and len(self.reference.downbeats_s) < 2:
            raise ConfigError(f"style {self.style!r} needs bar lines, and this track's reference has none")

    def plan(self, y: np.ndarray, *, sr_hz: int, start_s: float, offset_s: float, duration_s: float,
             config: EditConfig, rng: np.random.Generator) -> CutPlan:
        """Cuts of a video starting ``offset_s`` into ``y`` (``y`` starts at track time ``start_s``)."""
        ref = self.reference
        local = lambda times: np.asarray(times, np.float64) - start_s  # noqa: E731  track → y time
        beats = ReferenceRhythm.from_audio(y, sr_hz=sr_hz, beat_times_s=local(ref.beats_s), hop=HOP)
        energy = energy_curve(beats, offset_s=offset_s, duration_s=duration_s, fps=config.fps)
        scene_cuts: tuple[float, ...] = ()
        ramp = 0.0
        if self.style in ("beats", "ramped"):
            cuts = plan_cuts(beats, offset_s=offset_s, duration_s=duration_s, config=config, rng=rng)
            ramp = RAMP if self.style == "ramped" else 0.0
        elif self.style == "downbeats":
            bars = dataclasses.replace(beats, beat_times_s=local(ref.downbeats_s))
            on_bars = dataclasses.replace(config, beats_per_cut_choices=(1, 2, 4), off_beat_share=0.0,
                                          jitter_frames=min(config.jitter_frames, 1))
            cuts = plan_cuts(bars, offset_s=offset_s, duration_s=duration_s, config=on_bars, rng=rng)
        elif self.style == "phrases":
            cuts, scene_cuts = self._phrase_cuts(beats, local(ref.phrases_s), offset_s=offset_s,
                                                 duration_s=duration_s, config=config, rng=rng)
        else:  # hits
            times, strength = hit_times(y, sr_hz=sr_hz)
            video = times - offset_s
            keep = (video > 0) & (video < duration_s)
            cuts = _hit_cuts(video[keep], strength[keep],
                             lambda t: energy_levels(beats, times_s=np.array([offset_s + t]))[0],
                             duration_s=duration_s, config=config, rng=rng)
        return CutPlan(np.asarray(cuts, np.float64), energy, scene_cuts, ramp, self.style)

    @staticmethod
    def _phrase_cuts(beats: ReferenceRhythm, phrases: np.ndarray, *, offset_s: float, duration_s: float,
                     config: EditConfig, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, ...]]:
        """A cut on every phrase start in the video (a scene change), beat cuts between them."""
        fps = config.fps
        starts = [round((p - offset_s) * fps) / fps for p in phrases]
        starts = [t for t in starts if config.min_shot_s <= t <= duration_s - config.min_shot_s]
        inner = dataclasses.replace(config, beats_per_cut_choices=(1, 2, 4), off_beat_share=0.0)
        bounds = [0.0, *starts, duration_s]
        cuts: list[float] = list(starts)
        for a, b in zip(bounds[:-1], bounds[1:]):
            span = plan_cuts(beats, offset_s=offset_s + a, duration_s=b - a, config=inner, rng=rng) + a
            cuts += [float(t) for t in span if a + config.min_shot_s <= t <= b - config.min_shot_s]
        cuts = sorted({round(t * fps) / fps for t in cuts})
        return np.asarray(cuts, np.float64), tuple(starts)
