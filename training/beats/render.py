"""Render a MIDI file with fluidsynth and a General MIDI soundfont to mono FLAC.

The fluidsynth command line in fast-render mode (``-F``) is used rather than pyfluidsynth
(pretty_midi.fluidsynth): it renders the whole file in one synth, with the soundfont's reverb and
chorus, and needs no Python binding. Its output is deterministic (same file → same samples).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

from bgmatch.engine.errors import ConfigError, MediaError

SOUNDFONT_CANDIDATES = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2")


def find_soundfont() -> Path:
    """The General MIDI soundfont: ``$BGMATCH_SOUNDFONT`` or Debian's fluid-soundfont-gm."""
    env = os.environ.get("BGMATCH_SOUNDFONT")
    for candidate in ([env] if env else []) + list(SOUNDFONT_CANDIDATES):
        if Path(candidate).is_file():
            return Path(candidate)
    raise ConfigError("no General MIDI soundfont: install fluid-soundfont-gm or set $BGMATCH_SOUNDFONT")


def synthesize(pm: pretty_midi.PrettyMIDI, *, sr_hz: int, soundfont: Path | None = None) -> np.ndarray:
    """Render ``pm`` to a mono float32 signal ``[n]`` at ``sr_hz``, peak-normalised to 0.9."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ConfigError("fluidsynth is not installed (Debian package fluidsynth)")
    font = soundfont or find_soundfont()
    with tempfile.TemporaryDirectory(prefix="bgmatch-render-") as tmp:
        mid_path, wav_path = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        pm.write(str(mid_path))
        cmd = [exe, "-ni", "-q", "-F", str(wav_path), "-T", "wav", "-O", "float", "-r", str(sr_hz), "-g", "0.5",
               str(font), str(mid_path)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0 or not wav_path.is_file():
            raise MediaError(mid_path, f"fluidsynth failed: {(res.stderr or res.stdout).strip()[-200:]}")
        y, sr = sf.read(str(wav_path), dtype="float32", always_2d=True)
    if sr != sr_hz:
        raise MediaError(wav_path, f"fluidsynth wrote {sr} Hz instead of {sr_hz} Hz")
    mono = y.mean(axis=1)
    peak = float(np.abs(mono).max()) if mono.size else 0.0
    return (mono * (0.9 / peak) if peak > 0 else mono).astype(np.float32)


def write_flac(path: Path, y: np.ndarray, *, sr_hz: int) -> None:
    """Write ``y`` (float ``[n]``) as 16-bit FLAC, atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    sf.write(str(tmp), y, sr_hz, format="FLAC", subtype="PCM_16")
    os.replace(tmp, path)
