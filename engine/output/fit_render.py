"""Render a fit plan (``output.fit``): the segments cut from the track's audio and joined by
equal-power crossfades, the optional time-stretch (Rubber Band), and the fitted music written as
WAV, loudness-normalised."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..analysis import media
from ..errors import BgmatchError, MediaError
from .fit import FitConfig, FitError, FitPlan, plan_fit

if TYPE_CHECKING:
    from .loudness import LoudnessReport


def render_fit(plan: FitPlan, audio: np.ndarray, *, sr_hz: int) -> np.ndarray:
    """The plan played from ``audio`` (``[channels, n]`` float32 at ``sr_hz``).

    Returns ``[channels, round(target_duration_s · sr_hz)]``: segments back to back with
    equal-power crossfades centred on each join, time-stretched by Rubber Band when the plan
    says so, and faded out when the plan has a ``fade_out_s``.
    """
    audio = np.atleast_2d(audio)
    channels, n_src = audio.shape
    starts = [int(round(s.source_start_s * sr_hz)) for s in plan.segments]
    ends = [int(round(s.source_end_s * sr_hz)) for s in plan.segments]
    total = sum(e - s for s, e in zip(starts, ends))
    out = np.zeros((channels, total), np.float32)
    halves = [int(round(s.crossfade_s * sr_hz / 2)) for s in plan.segments] + [0]
    at = 0
    for k, (s0, s1) in enumerate(zip(starts, ends)):
        h_in, h_out = halves[k], halves[k + 1]
        lo, hi = s0 - h_in, s1 + h_out
        piece = np.zeros((channels, hi - lo), np.float32)
        src_lo, src_hi = max(lo, 0), min(hi, n_src)
        if src_hi > src_lo:
            piece[:, src_lo - lo:src_hi - lo] = audio[:, src_lo:src_hi]
        if h_in:
            piece[:, :2 * h_in] *= np.sin(np.linspace(0, np.pi / 2, 2 * h_in, dtype=np.float32))
        if h_out:
            piece[:, -2 * h_out:] *= np.cos(np.linspace(0, np.pi / 2, 2 * h_out, dtype=np.float32))
        t_lo = at - h_in
        o_lo, o_hi = max(t_lo, 0), min(t_lo + piece.shape[1], total)
        out[:, o_lo:o_hi] += piece[:, o_lo - t_lo:o_hi - t_lo]
        at += s1 - s0
    if plan.stretch_rate != 1.0:
        out = time_stretch(out, sr_hz=sr_hz, rate=plan.stretch_rate)
    n = int(round(plan.target_duration_s * sr_hz))
    out = out[:, :n] if out.shape[1] >= n else np.pad(out, ((0, 0), (0, n - out.shape[1])))
    if plan.fade_out_s > 0:
        k = min(n, int(round(plan.fade_out_s * sr_hz)))
        out[:, n - k:] *= np.cos(np.linspace(0, np.pi / 2, k, dtype=np.float32))
    return out


def stretch_available() -> bool:
    """Whether Rubber Band can be used (``pyrubberband`` and the ``rubberband`` program)."""
    try:
        import pyrubberband  # noqa: F401
    except ImportError:
        return False
    return shutil.which("rubberband") is not None


def time_stretch(audio: np.ndarray, *, sr_hz: int, rate: float) -> np.ndarray:
    """``audio`` ``[channels, n]`` played ``rate`` times faster, pitch kept (Rubber Band).

    Rubber Band (GPL) runs as Debian's ``rubberband`` program through ``pyrubberband``; it is
    not linked into bgmatch. Raises :class:`FitError` when it is not installed.
    """
    if not stretch_available():
        raise FitError("time-stretch needs Rubber Band: pip install pyrubberband and apt install rubberband-cli")
    import pyrubberband

    y = pyrubberband.time_stretch(np.ascontiguousarray(audio.T), sr_hz, rate)
    return np.ascontiguousarray(np.atleast_2d(np.asarray(y, np.float32).T))


# ----- tracks on disk ------------------------------------------------------------------------

def fit_track(track: str | os.PathLike[str], *, offset_s: float, duration_s: float, analysis=None,
              config: FitConfig = FitConfig()) -> FitPlan:
    """Plan the fit of the audio file ``track``; ``analysis`` (a ``MusicAnalysis``) is computed if None.

    Downbeats are used when the analysis has ``downbeat_times_s``.
    """
    from ..analysis.rhythm import RhythmConfig, analyze_music

    y = media.decode_audio(track, sr_hz=config.analysis_sr_hz)
    if analysis is None:
        analysis = analyze_music(y, sr_hz=config.analysis_sr_hz,
                                 config=RhythmConfig(sr_hz=config.analysis_sr_hz, hop_length=config.hop_length))
    try:
        return plan_fit(y, sr_hz=config.analysis_sr_hz, beat_times_s=analysis.beat_times_s, offset_s=offset_s,
                        duration_s=duration_s, downbeat_times_s=getattr(analysis, "downbeat_times_s", None),
                        config=config)
    except FitError as exc:
        raise MediaError(track, str(exc)) from None


def render_track(track: str | os.PathLike[str], plan: FitPlan, *, sr_hz: int = 48000) -> np.ndarray:
    """Decode ``track`` in stereo at ``sr_hz`` and render ``plan`` from it (``[2, n]``)."""
    return render_fit(plan, media.decode_audio(track, sr_hz=sr_hz, stereo=True), sr_hz=sr_hz)


def _wav_path(out_path: str | os.PathLike[str]) -> Path:
    """``out_path`` if a WAV can be written there; else a :class:`BgmatchError` saying why."""
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".wav":
        raise BgmatchError(f"{out_path}: the fitted music is written as WAV; use a .wav name")
    if not out_path.parent.is_dir():
        raise BgmatchError(f"{out_path.parent}: no such folder")
    return out_path


def write_wav(audio: np.ndarray, out_path: str | os.PathLike[str], *, sr_hz: int) -> Path:
    """Write ``audio`` ``[channels, n]`` as a 24-bit WAV, atomically (temp file, then rename)."""
    import soundfile

    out_path = _wav_path(out_path)
    tmp = out_path.with_name(f".{out_path.name}.part")
    try:
        soundfile.write(str(tmp), np.clip(audio, -1.0, 1.0).T, sr_hz, subtype="PCM_24", format="WAV")
        os.replace(tmp, out_path)
    except OSError as exc:
        raise BgmatchError(f"{out_path}: cannot write: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


@dataclass(frozen=True)
class FitResult:
    """What :func:`write_fit` wrote: the WAV, its plan, and its loudness (measured on the file; None when not normalised)."""

    path: Path
    plan: FitPlan
    loudness: "LoudnessReport | None"


def write_fit(track: str | os.PathLike[str], *, offset_s: float, duration_s: float, out_path: str | os.PathLike[str],
              config: FitConfig = FitConfig(), target_lufs: float | None = None, sr_hz: int = 48000,
              plan: FitPlan | None = None) -> FitResult:
    """Plan, render and write ``track`` fitted to ``duration_s`` as a WAV (loudness-normalised when
    ``target_lufs``); ``plan`` (e.g. ``Library.fit_plan``, on the stored bars) replaces the planning."""
    from .loudness import integrated_lufs, normalize

    out_path = _wav_path(out_path)  # before the work: a bad name fails at once
    if plan is None:
        plan = fit_track(track, offset_s=offset_s, duration_s=duration_s, config=config)
    audio = render_track(track, plan, sr_hz=sr_hz)
    report = None
    if target_lufs is not None:
        audio, report = normalize(audio, sr_hz=sr_hz, target_lufs=target_lufs)
    path = write_wav(audio, out_path, sr_hz=sr_hz)
    if report is not None:
        report = replace(report, output_lufs=integrated_lufs(media.decode_audio(path, sr_hz=sr_hz, stereo=True),
                                                             sr_hz=sr_hz))
    return FitResult(path, plan, report)
