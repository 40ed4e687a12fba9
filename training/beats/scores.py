"""Load a source piece as a :class:`mido.MidiFile` whose first bar line is at tick 0.

MIDI files are read as they are. A music21 score is written to MIDI here (with pretty_midi, not
music21's writer, so that a pickup bar is padded: the score's notes are shifted by the pickup's
missing length, and the file's time-signature map then puts every bar line where the score has
it). Its tempo is the score's metronome mark, or a seeded one; its instruments are seeded General
MIDI programs.
"""
from __future__ import annotations

import io

import mido
import numpy as np
import pretty_midi

from bgmatch.engine.errors import MediaError

from .grid import beat_unit
from .sources import Piece

#: General MIDI programs for a melody alone (fiddle tunes) and for a part of a chorale.
MELODY_PROGRAMS = (40, 73, 21, 0, 71, 22, 24, 46, 11, 68)  # violin, flute, accordion, piano, clarinet, ...
ENSEMBLE_PROGRAMS = (0, 19, 48, 52, 61, 6, 16)  # piano, church organ, strings, choir, brass, harpsichord, organ
#: Range of the tapped beat's tempo (BPM) drawn when a score has no metronome mark.
BEAT_BPM_RANGE = (84.0, 132.0)
TICKS_PER_QUARTER = 480


def load_midi(piece: Piece, rng: np.random.Generator) -> mido.MidiFile:
    """The piece as a MIDI file (``rng`` draws tempo and instruments of a music21 score)."""
    if piece.kind == "midi":
        try:
            return mido.MidiFile(piece.path)
        except (OSError, ValueError, EOFError, KeyError) as exc:
            raise MediaError(piece.path, f"not a readable MIDI file ({exc})") from exc
    return _score_to_midi(piece, rng)


def _score_to_midi(piece: Piece, rng: np.random.Generator) -> mido.MidiFile:
    from music21 import corpus, meter, tempo

    try:
        score = corpus.parse(piece.path, number=piece.number) if piece.number is not None else corpus.parse(piece.path)
    except Exception as exc:  # music21 raises many unrelated types on malformed scores
        raise MediaError(piece.path, f"music21 cannot parse tune {piece.number} ({type(exc).__name__}: {exc})") from exc
    parts = list(score.parts) or [score]
    first = parts[0].getElementsByClass("Measure").first()
    pad_ql = float(first.paddingLeft) if first is not None else 0.0
    signatures = [(float(ts.getOffsetInHierarchy(parts[0])), ts.numerator, ts.denominator)
                  for ts in parts[0].recurse().getElementsByClass(meter.TimeSignature)]
    if not signatures:
        raise MediaError(piece.path, f"tune {piece.number} has no time signature")
    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    num, den = signatures[0][1], signatures[0][2]
    _, beat_ticks = beat_unit(num, den, ticks_per_quarter=TICKS_PER_QUARTER)
    beat_ql = beat_ticks / TICKS_PER_QUARTER
    mark_qpm = marks[0].getQuarterBPM() if marks else None
    if mark_qpm and 30 <= mark_qpm / beat_ql <= 240:  # a plausible tapped tempo
        qpm = float(mark_qpm)
    else:
        qpm = float(rng.uniform(*BEAT_BPM_RANGE)) * beat_ql
    pm = pretty_midi.PrettyMIDI(resolution=TICKS_PER_QUARTER, initial_tempo=qpm)
    spq = 60.0 / qpm
    seen: set[float] = set()
    for off, n, d in signatures:
        t = (off + pad_ql) * spq if off > 0 else 0.0
        if t not in seen:
            seen.add(t)
            pm.time_signature_changes.append(pretty_midi.TimeSignature(n, d, t))
    programs = MELODY_PROGRAMS if len(parts) == 1 else ENSEMBLE_PROGRAMS
    ensemble = int(rng.integers(len(programs)))
    for k, part in enumerate(parts):
        program = programs[ensemble] if len(parts) > 1 else programs[int(rng.integers(len(programs)))]
        inst = pretty_midi.Instrument(program=program, name=f"part {k}")
        for n in part.stripTies().flatten().notes:
            ql = float(n.quarterLength)
            if ql <= 0:  # grace notes
                continue
            start = (float(n.offset) + pad_ql) * spq
            velocity = int(n.volume.velocity) if n.volume.velocity else int(rng.integers(76, 100))
            for p in n.pitches:
                inst.notes.append(pretty_midi.Note(velocity=velocity, pitch=int(p.midi), start=start,
                                                   end=start + ql * spq * 0.95))
        if inst.notes:
            pm.instruments.append(inst)
    if not pm.instruments:
        raise MediaError(piece.path, f"tune {piece.number} has no notes")
    buf = io.BytesIO()
    pm.write(buf)
    buf.seek(0)
    return mido.MidiFile(file=buf)
