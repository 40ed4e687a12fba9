"""Make one item of the beat benchmark: the piece's MIDI as it will sound, its ground truth, its audio.

The excerpt runs from 0.5 s before the first note to ``max_s`` later (or 1 s after the last
note's end); its beats are those from the first note to the last sounding one. Transforms
(ramp, drift) rewrite the tempo map in ticks; the ground truth is read from the file as rendered.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pretty_midi

from bgmatch.engine.errors import BgmatchError

from .grid import beat_unit, is_ambiguous, midi_grid, note_on_ticks, onset_fit
from .layout import LAYOUT_VERSION
from .plan import MIN_ON_GRID, BuildConfig, ItemSpec, meter_kind, item_rng
from .render import synthesize
from .scores import load_midi
from .transform import drift, jitter_notes, ramp, tempo_map, ticks_to_seconds

LEAD_S = 0.5  # audio kept before the first note
TAIL_S = 1.0  # audio kept after the last note ends


class Rejected(BgmatchError):
    """A piece that cannot give a trustworthy item (off-grid, ambiguous meter, too short)."""


def _to_pretty(mid: mido.MidiFile) -> pretty_midi.PrettyMIDI:
    buf = io.BytesIO()
    mid.save(file=buf)
    buf.seek(0)
    return pretty_midi.PrettyMIDI(buf)


def _to_mido(pm: pretty_midi.PrettyMIDI) -> mido.MidiFile:
    buf = io.BytesIO()
    pm.write(buf)
    buf.seek(0)
    return mido.MidiFile(file=buf)


@dataclass(frozen=True)
class PreparedItem:
    """An item before synthesis: the MIDI to render, the excerpt to keep (seconds) and the JSON document."""

    pm: pretty_midi.PrettyMIDI
    start_s: float
    stop_s: float
    doc: dict[str, Any]


def render_item(spec: ItemSpec, config: BuildConfig, *, soundfont: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Render one item: ``(audio float32 [n] at config.sr_hz, its JSON document)``; raises :class:`Rejected`."""
    prep = prepare_item(spec, config)
    y = synthesize(prep.pm, sr_hz=config.sr_hz, soundfont=soundfont)
    y = y[int(round(prep.start_s * config.sr_hz)): int(round(prep.stop_s * config.sr_hz))]
    doc = dict(prep.doc)
    doc["duration_s"] = round(len(y) / config.sr_hz, 4)
    doc["meters"] = [m for m in doc["meters"] if m["time_s"] < doc["duration_s"]]
    return y, doc


def prepare_item(spec: ItemSpec, config: BuildConfig) -> PreparedItem:
    """The MIDI file of one item as it will be rendered, and its ground truth; raises :class:`Rejected`."""
    rng = item_rng(config.seed, spec.item_id)
    mid = load_midi(spec.piece, rng)
    onsets = note_on_ticks(mid)
    if len(onsets) == 0:
        raise Rejected(f"{spec.piece.path}: no notes")
    grid = midi_grid(mid, end_tick=int(onsets.max()))
    if any(is_ambiguous(m.numerator, m.denominator) for m in grid.meters):
        raise Rejected(f"{spec.piece.path}: meter {[m.label for m in grid.meters]} has no single tapped beat")
    fit = onset_fit(onsets, grid)
    if fit.on_grid < MIN_ON_GRID:
        raise Rejected(f"{spec.piece.path}: notes off the grid (on-grid fraction {fit.on_grid:.2f})")
    kind = meter_kind([m.label for m in grid.meters])
    if spec.category in ("triple", "compound") and kind != spec.category:
        raise Rejected(f"{spec.piece.path}: meters {[m.label for m in grid.meters]} are not {spec.category}")
    variant: dict[str, Any] = {"kind": spec.variant}
    tpq = mid.ticks_per_beat
    first_tick = int(onsets.min())
    if spec.variant == "ramp":
        t_first = float(ticks_to_seconds(tempo_map(mid), np.array([first_tick]), ticks_per_quarter=tpq)[0])
        last_tick = int(_tick_at(mid, t_first + config.max_s))
        a, b = float(rng.uniform(0.8, 0.92)), float(rng.uniform(1.08, 1.2))
        start, end = (a, b) if rng.random() < 0.5 else (b, a)
        mid = ramp(mid, grid.beat_ticks, start_factor=start, end_factor=end, from_tick=first_tick, to_tick=last_tick)
        variant.update(start_factor=round(start, 4), end_factor=round(end, 4))
    elif spec.variant == "humanise":
        mid = drift(mid, grid.beat_ticks, rng, depth=0.04)
        variant.update(drift_depth=0.04, jitter_sd_s=0.012, jitter_max_s=0.035)
    pm = _to_pretty(mid)
    notes = [n for inst in pm.instruments for n in inst.notes]
    first_s = min(n.start for n in notes)
    t0 = max(0.0, first_s - LEAD_S)
    if spec.variant == "tail":
        t0 = max(t0, max(n.end for n in notes) - config.max_s)
    t_end = t0 + config.max_s
    for inst in pm.instruments:
        inst.notes = [n for n in inst.notes if t0 <= n.start < t_end - 0.05]
        for n in inst.notes:
            n.end = min(n.end, t_end)
        inst.control_changes = [c for c in inst.control_changes if c.time < t_end]
        inst.pitch_bends = [c for c in inst.pitch_bends if c.time < t_end]
    pm.instruments = [inst for inst in pm.instruments if inst.notes]
    if spec.variant == "humanise":
        jitter_notes(pm, rng, sd_s=0.012, max_s=0.035)
    # The file as rendered, reread, is the one the ground truth is read from.
    final = _to_mido(pm)
    changes = tempo_map(final)
    beats_all = ticks_to_seconds(changes, grid.beat_ticks * final.ticks_per_beat / tpq,
                                 ticks_per_quarter=final.ticks_per_beat)
    pm = _to_pretty(final)
    notes = [n for inst in pm.instruments for n in inst.notes]
    first_s, last_s = min(n.start for n in notes), max(n.end for n in notes)
    keep = (beats_all >= first_s - 0.05) & (beats_all <= last_s) & (beats_all < t_end)
    if config.click:
        click = pretty_midi.Instrument(program=0, is_drum=True, name="click")
        for t, down in zip(beats_all[keep], grid.downbeat[keep]):
            click.notes.append(pretty_midi.Note(velocity=127, pitch=76 if down else 77, start=float(t),
                                                end=float(t) + 0.05))
        pm.instruments.append(click)
    stop_s = min(t_end, last_s + TAIL_S)
    duration_s = (int(round(stop_s * config.sr_hz)) - int(round(t0 * config.sr_hz))) / config.sr_hz
    sounding_s = min(last_s, t_end) - first_s
    if sounding_s < config.min_s:
        raise Rejected(f"{spec.piece.path}: only {sounding_s:.1f} s of music (need {config.min_s:g} s)")
    beats = beats_all[keep] - t0
    downs = grid.downbeat[keep]
    positions = np.cumsum(np.ones(len(grid.downbeat), dtype=np.int64)) - np.maximum.accumulate(
        np.where(grid.downbeat, np.arange(len(grid.downbeat)), 0))  # 1 on a downbeat, 2 on the next beat …
    positions = [int(k) for k in positions[keep]] if grid.downbeats_known else []
    meters = [{"time_s": round(float(ticks_to_seconds(changes, np.array([m.tick * final.ticks_per_beat / tpq]),
                                                      ticks_per_quarter=final.ticks_per_beat)[0]) - t0, 4),
               "label": m.label, "beats_per_bar": beat_unit(m.numerator, m.denominator, ticks_per_quarter=tpq)[0]}
              for m in grid.meters]
    meters = [m for i, m in enumerate(meters) if i + 1 == len(meters) or meters[i + 1]["time_s"] > 0]
    meters = [m for m in meters if m["time_s"] < duration_s]
    meters[0]["time_s"] = max(0.0, meters[0]["time_s"])
    periods = np.diff(beats)
    doc = {
        "version": LAYOUT_VERSION, "item_id": spec.item_id, "category": spec.category,
        "audio": f"{spec.item_id}.flac", "sr_hz": config.sr_hz, "duration_s": round(duration_s, 4),
        "source": {"piece_id": spec.piece.piece_id, "origin": spec.piece.origin, "title": spec.piece.title,
                   "path": spec.piece.path, "number": spec.piece.number},
        "license": spec.piece.license, "variant": variant,
        "meter": meters[0]["label"], "meters": meters, "downbeats_known": grid.downbeats_known,
        "tempo_bpm": round(float(60 / np.median(periods)), 2) if len(periods) else None,
        "excerpt_start_s": round(t0, 4), "on_grid": round(fit.on_grid, 3), "click": config.click,
        "beats_s": [round(float(t), 5) for t in beats],
        "downbeats_s": [round(float(t), 5) for t in beats[downs]] if grid.downbeats_known else None,
        "beat_positions": positions,
    }
    return PreparedItem(pm, t0, stop_s, doc)


def _tick_at(mid: mido.MidiFile, seconds: float) -> float:
    """The tick at ``seconds`` under ``mid``'s tempo map."""
    changes = tempo_map(mid)
    starts = ticks_to_seconds(changes, np.array([t for t, _ in changes]), ticks_per_quarter=mid.ticks_per_beat)
    i = int(np.searchsorted(starts, seconds, side="right") - 1)
    return changes[i][0] + (seconds - starts[i]) * 1e6 * mid.ticks_per_beat / changes[i][1]
