"""The beat grid a MIDI file's time-signature map implies, in ticks, and how well its notes sit on it.

The beat is the one an editor taps:

* simple meters (2/4, 3/4, 4/4, 2/2, 5/4, 3/8 …): one beat per denominator note, ``numerator``
  beats per bar (3/4 → three quarter-note beats);
* compound meters (6/8, 9/8, 12/8, 6/16 …: numerator a multiple of 3 above 3, denominator 8 or
  finer): one beat per dotted note of three denominator notes, ``numerator / 3`` beats per bar
  (6/8 → two dotted-quarter beats, 12/8 → four).

6/4, 9/4 and 12/4 are compound on paper but often felt in quarters; :func:`beat_unit` calls them
ambiguous and the builder leaves them out. A file without a time-signature event is 4/4 by the
MIDI standard; its beats are kept but its downbeats are marked unknown (``downbeats_known``).

The grid starts at tick 0, the first bar line of every sequenced MIDI file. Files whose notes do
not sit on that grid (played in without a click, or with a wrong tempo map) are recognised by
:func:`onset_fit` and left out.
"""
from __future__ import annotations

from dataclasses import dataclass

import mido
import numpy as np


@dataclass(frozen=True)
class Meter:
    """A time signature from ``tick`` on."""

    tick: int
    numerator: int
    denominator: int

    @property
    def label(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass(frozen=True)
class Grid:
    """Beats of a MIDI file in ticks: ``beat_ticks`` int64 ``[n]``, ``downbeat`` bool ``[n]``."""

    beat_ticks: np.ndarray
    downbeat: np.ndarray
    meters: tuple[Meter, ...]
    downbeats_known: bool


def is_compound(numerator: int, denominator: int) -> bool:
    """Whether the beat is a dotted note of three denominator notes (6/8, 9/8, 12/8, 6/16 …)."""
    return numerator > 3 and numerator % 3 == 0 and denominator >= 8


def is_ambiguous(numerator: int, denominator: int) -> bool:
    """Meters whose tapped beat is a matter of taste (6/4, 9/4, 12/4, 6/2 …)."""
    return numerator > 3 and numerator % 3 == 0 and denominator < 8


def beat_unit(numerator: int, denominator: int, *, ticks_per_quarter: int) -> tuple[int, float]:
    """``(beats per bar, beat length in ticks)`` of a time signature (see the module docstring)."""
    note_ticks = 4 * ticks_per_quarter / denominator
    if is_compound(numerator, denominator):
        return numerator // 3, 3 * note_ticks
    return numerator, note_ticks


def meters_of(mid: mido.MidiFile) -> list[Meter]:
    """The time-signature changes of ``mid`` (all tracks), by tick; later duplicates at a tick win."""
    found: dict[int, Meter] = {}
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "time_signature":
                found[tick] = Meter(tick, msg.numerator, msg.denominator)
    return [found[t] for t in sorted(found)]


def midi_grid(mid: mido.MidiFile, *, end_tick: int) -> Grid:
    """Beats and downbeats of ``mid`` from tick 0 to ``end_tick`` (inclusive) from its meter map.

    A time-signature change that falls inside a bar starts a new bar there (as sequencers do).
    """
    meters = meters_of(mid)
    known = bool(meters)
    if not meters or meters[0].tick > 0:
        meters.insert(0, Meter(0, 4, 4))
    tpq = mid.ticks_per_beat
    ticks: list[float] = []
    down: list[bool] = []
    for i, meter in enumerate(meters):
        stop = meters[i + 1].tick if i + 1 < len(meters) else end_tick + 1
        per_bar, beat_len = beat_unit(meter.numerator, meter.denominator, ticks_per_quarter=tpq)
        k = 0
        while True:
            t = meter.tick + k * beat_len
            if t >= stop - 1e-6:
                break
            ticks.append(t)
            down.append(k % per_bar == 0)
            k += 1
    beat_ticks = np.rint(np.asarray(ticks)).astype(np.int64)
    return Grid(beat_ticks, np.asarray(down, dtype=bool), tuple(meters), known)


@dataclass(frozen=True)
class Fit:
    """How the note onsets of a file sit on its beat grid."""

    on_grid: float  # fraction of onsets within 1/32 beat of 0, 1/4, 1/3, 1/2, 2/3 or 3/4 of a beat
    on_beat: float  # fraction of onsets on the beat (within 1/32 beat)
    half_beat: float  # fraction of onsets half a beat off (within 1/32 beat)
    n_onsets: int


SUBDIVISIONS = np.array([0.0, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4, 1.0])


def onset_fit(onset_ticks: np.ndarray, grid: Grid, *, tolerance_beats: float = 1 / 32) -> Fit:
    """Where ``onset_ticks`` (int ``[m]``) fall within the beats of ``grid``.

    A quantised file scores ``on_grid`` near 1 (random onsets: about 0.375) and ``on_beat`` above
    ``half_beat``; a grid shifted by half a beat swaps the last two.
    """
    beats = grid.beat_ticks.astype(np.float64)
    onsets = np.asarray(onset_ticks, dtype=np.float64)
    onsets = onsets[(onsets >= beats[0]) & (onsets < beats[-1])]
    if len(onsets) == 0 or len(beats) < 2:
        return Fit(0.0, 0.0, 0.0, 0)
    i = np.searchsorted(beats, onsets, side="right") - 1
    phase = (onsets - beats[i]) / (beats[i + 1] - beats[i])
    dist = np.abs(phase[:, None] - SUBDIVISIONS[None, :]).min(axis=1)
    on_beat = np.minimum(phase, 1 - phase) <= tolerance_beats
    half = np.abs(phase - 0.5) <= tolerance_beats
    return Fit(float(np.mean(dist <= tolerance_beats)), float(np.mean(on_beat)), float(np.mean(half)), len(onsets))


def note_on_ticks(mid: mido.MidiFile) -> np.ndarray:
    """Ticks of every sounding note-on of ``mid`` (all tracks), int64 ``[m]``."""
    ticks = []
    for track in mid.tracks:
        t = 0
        for msg in track:
            t += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                ticks.append(t)
    return np.asarray(ticks, dtype=np.int64)
