"""madmom's RNN + DBN beats of real recordings: a second opinion, for measuring only.

Run in a throwaway environment that has madmom (built from its sdist), never in bgmatch's: madmom
and its models (CC BY-NC-SA) are no dependency of bgmatch, and this file imports nothing of it::

    python3 -m venv /tmp/mmvenv && /tmp/mmvenv/bin/pip install "numpy<1.24" scipy soundfile cython mido setuptools wheel
    /tmp/mmvenv/bin/pip install --no-build-isolation madmom==0.16.1
    sed -i 's/from collections import MutableSequence/from collections.abc import MutableSequence/' \
        /tmp/mmvenv/lib/python3.11/site-packages/madmom/processors.py   # 0.16.1 predates Python 3.10
    /tmp/mmvenv/bin/python training/beats/madmom_reference.py ~/.cache/bgmatch-media/music --out ref.json

Each file's first ``--max-s`` seconds (the whole file with ``--max-s 0``; mono, resampled to
44.1 kHz) go through madmom's ``RNNBeatProcessor`` and ``DBNBeatTrackingProcessor(fps=100)``; the
JSON maps each file's path (relative to the folder) to its beat times in seconds. :mod:`.agreement`
scores trackers against it. With ``--downbeats``, madmom's ``RNNDownBeatProcessor`` and
``DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100)`` run instead and each path maps to
``{"beats": [...], "downbeats": [...]}`` (the ground-truth BeatCut's reference for recordings,
``training/beatcut/recordings.py``). Resumable: files already in ``--out`` are skipped; the file
is rewritten atomically after each.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

AUDIO_SUFFIXES = (".ogg", ".flac", ".wav", ".mp3", ".opus")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--max-s", type=float, default=60.0, help="seconds read from each file (0: all)")
    p.add_argument("--downbeats", action="store_true", help="beats and downbeats (madmom's downbeat tracker)")
    p.add_argument("--include", action="append", default=None, metavar="GLOB",
                   help="only files whose path relative to FOLDER matches (repeatable; to split the work)")
    args = p.parse_args(argv)
    from madmom.audio.signal import Signal
    from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    if args.downbeats:
        rnn, dbn = RNNDownBeatProcessor(), DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100)
    else:
        rnn, dbn = RNNBeatProcessor(), DBNBeatTrackingProcessor(fps=100)
    done = json.loads(args.out.read_text()) if args.out.is_file() else {}
    files = sorted(f for f in args.folder.rglob("*") if f.suffix.lower() in AUDIO_SUFFIXES)
    if args.include:
        files = [f for f in files if any(f.relative_to(args.folder).match(g) for g in args.include)]
    for path in files:
        rel = str(path.relative_to(args.folder))
        if rel in done:
            continue
        try:
            info = sf.info(str(path))
            frames = int(args.max_s * info.samplerate) if args.max_s > 0 else -1
            y, sr = sf.read(str(path), frames=frames, dtype="float32", always_2d=True)
        except RuntimeError as exc:
            print(f"{path}: cannot read ({exc})", file=sys.stderr)
            continue
        y = y.mean(axis=1)
        if sr != 44100:
            g = np.gcd(int(sr), 44100)
            y = resample_poly(y, 44100 // g, int(sr) // g).astype(np.float32)
        out = dbn(rnn(Signal(y, sample_rate=44100, num_channels=1)))
        if args.downbeats:  # rows (time, position in the bar); position 1 is a downbeat
            beats = out[:, 0] if len(out) else out
            done[rel] = {"beats": [round(float(t), 4) for t in beats],
                         "downbeats": [round(float(t), 4) for t, k in out if int(k) == 1]}
        else:
            beats = out
            done[rel] = [round(float(t), 4) for t in beats]
        tmp = args.out.with_name(args.out.name + ".part")
        tmp.write_text(json.dumps(done, indent=0) + "\n")
        os.replace(tmp, args.out)
        print(f"{len(done)}/{len(files)} {rel}: {len(beats)} beats", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
