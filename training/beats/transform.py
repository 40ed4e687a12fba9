"""Rewrite a MIDI file's tempo map (ramps, slow drift) and jitter its notes.

Tempo changes are rewritten in ticks, the unit of the file's notes and of its beat grid, so the
ground truth (beat ticks read through the new tempo map) follows the new timing exactly. Note
jitter is applied afterwards, in seconds, to the notes only: it is the player's imprecision, not
a change of the beat.
"""
from __future__ import annotations

import mido
import numpy as np
import pretty_midi


def tempo_map(mid: mido.MidiFile) -> list[tuple[int, int]]:
    """``[(tick, microseconds per quarter)]`` of every tempo change of ``mid``, starting at tick 0."""
    found: dict[int, int] = {}
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                found[tick] = msg.tempo
    changes = sorted(found.items())
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, 500000))  # the MIDI default, 120 quarter notes per minute
    return changes


def tempo_at(changes: list[tuple[int, int]], ticks: np.ndarray) -> np.ndarray:
    """Microseconds per quarter in force at each of ``ticks`` (int ``[n]``)."""
    starts = np.array([t for t, _ in changes])
    values = np.array([v for _, v in changes], dtype=np.float64)
    return values[np.searchsorted(starts, ticks, side="right") - 1]


def with_tempo_map(mid: mido.MidiFile, changes: list[tuple[int, int]]) -> mido.MidiFile:
    """A copy of ``mid`` whose only tempo changes are ``changes`` (in its first track)."""
    out = mido.MidiFile(type=mid.type if mid.type != 2 else 1, ticks_per_beat=mid.ticks_per_beat)
    for k, track in enumerate(mid.tracks):
        events: list[tuple[int, int, int, mido.Message]] = []
        tick = 0
        for i, msg in enumerate(track):
            tick += msg.time
            if msg.type == "set_tempo":
                continue
            events.append((tick, 1, i, msg))
        if k == 0:
            events += [(t, 0, -1, mido.MetaMessage("set_tempo", tempo=int(v), time=0)) for t, v in changes]
        events.sort(key=lambda e: (e[0], e[1] if e[3].type != "end_of_track" else 2, e[2]))
        new = mido.MidiTrack()
        last = 0
        for t, _, _, msg in events:
            new.append(msg.copy(time=t - last))
            last = t
        out.tracks.append(new)
    return out


def ramp(mid: mido.MidiFile, beat_ticks: np.ndarray, *, start_factor: float, end_factor: float,
         from_tick: int, to_tick: int) -> mido.MidiFile:
    """``mid`` with its tempo scaled by a factor going linearly from ``start_factor`` at ``from_tick``
    to ``end_factor`` at ``to_tick`` (held outside that span); ``factor > 1`` is faster.

    One tempo change per beat: the file's own tempo there times the factor.
    """
    factors = np.interp(beat_ticks, [from_tick, max(to_tick, from_tick + 1)], [start_factor, end_factor])
    return _scaled(mid, beat_ticks, factors)


def drift(mid: mido.MidiFile, beat_ticks: np.ndarray, rng: np.random.Generator, *, depth: float = 0.04,
          period_beats: float = 32.0) -> mido.MidiFile:
    """``mid`` with a slow random tempo drift: factor ``1 + depth · s(beat)``, ``s`` a sum of three
    sinusoids of random phase with periods around ``period_beats``, scaled to ``[-1, 1]``."""
    k = np.arange(len(beat_ticks), dtype=np.float64)
    periods = period_beats * rng.uniform(0.6, 1.6, size=3)
    phases = rng.uniform(0, 2 * np.pi, size=3)
    s = sum(np.sin(2 * np.pi * k / p + ph) for p, ph in zip(periods, phases))
    s = s / max(1e-9, float(np.abs(s).max()))
    return _scaled(mid, beat_ticks, 1.0 + depth * s)


def _scaled(mid: mido.MidiFile, beat_ticks: np.ndarray, factors: np.ndarray) -> mido.MidiFile:
    original = tempo_map(mid)
    # Keep the file's own changes that fall between beats too, scaled by the factor of their beat.
    ticks = np.union1d(beat_ticks, [t for t, _ in original])
    ticks = ticks[ticks >= 0]
    idx = np.clip(np.searchsorted(beat_ticks, ticks, side="right") - 1, 0, len(beat_ticks) - 1)
    us = tempo_at(original, ticks) / factors[idx]
    changes = [(int(t), int(round(v))) for t, v in zip(ticks, us)]
    if changes[0][0] != 0:
        changes.insert(0, (0, changes[0][1]))
    return with_tempo_map(mid, changes)


def jitter_notes(pm: pretty_midi.PrettyMIDI, rng: np.random.Generator, *, sd_s: float = 0.012,
                 max_s: float = 0.035) -> None:
    """Shift every pitched note's onset (and offset) by ``N(0, sd_s)`` seconds, clipped to ±``max_s``.

    Drums are jittered too; notes of one chord move independently, as a player's fingers do.
    """
    for inst in pm.instruments:
        for note in inst.notes:
            d = float(np.clip(rng.normal(0.0, sd_s), -max_s, max_s))
            length = note.end - note.start
            note.start = max(0.0, note.start + d)
            note.end = note.start + length


def ticks_to_seconds(changes: list[tuple[int, int]], ticks: np.ndarray, *, ticks_per_quarter: int) -> np.ndarray:
    """Seconds of ``ticks`` (int ``[n]``) under the tempo map ``changes`` (from :func:`tempo_map`).

    Written out because pretty_midi's ``tick_to_time`` stops at the file's last event and mido's
    ``tick2second`` knows one tempo only.
    """
    starts = np.array([t for t, _ in changes], dtype=np.float64)
    sec_per_tick = np.array([v for _, v in changes], dtype=np.float64) / 1e6 / ticks_per_quarter
    offsets = np.concatenate([[0.0], np.cumsum(np.diff(starts) * sec_per_tick[:-1])])
    ticks = np.asarray(ticks, dtype=np.float64)
    i = np.searchsorted(starts, ticks, side="right") - 1
    return offsets[i] + (ticks - starts[i]) * sec_per_tick[i]
