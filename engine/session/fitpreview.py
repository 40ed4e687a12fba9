"""The preview's "Fit to video": plan the chosen track's fit to the video's length at the current
offset, and render it to a cache file the player plays from 0 under the video.

A :class:`FitRequest` pins down everything the fit depends on (the track file as it is on disk,
the offset, the video's length, the corrected beats and downbeats); its :attr:`~FitRequest.key`
names the rendered file and tells a finished render from a stale one. Planning is
``output.fit.plan_fit`` on the library's stored analysis (no re-analysis); rendering and the
atomic WAV write are ``output.fit_render``'s.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis import media
from ..errors import MediaError
from ..output.fit import FitConfig, FitError, FitPlan, plan_fit
from ..output.fit_render import render_track, write_wav
from ..progress import CancelFn, ProgressFn, cancelled, report

#: Rate of the rendered preview (Hz), the rate Qt's players output anyway.
PREVIEW_SR_HZ = 44100
#: Rendered fits kept in the cache folder (the oldest are removed).
KEEP_RENDERS = 8
#: Steps reported through ``progress``.
STEPS = 3


@dataclass(frozen=True)
class FitRequest:
    """What a fit of the chosen track to the video depends on (times in seconds)."""

    track: Path
    offset_s: float
    duration_s: float
    beat_times_s: tuple[float, ...]
    downbeat_times_s: tuple[float, ...] = ()

    @property
    def key(self) -> str:
        """A short name of this request: equal keys, equal renders (the file's size and
        modification time are part of it, so an edited track is fitted again)."""
        try:
            st = self.track.stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = (0, 0)
        h = hashlib.sha1(repr((str(self.track.resolve()), stamp, round(self.offset_s, 3), round(self.duration_s, 3),
                               FitConfig())).encode())
        h.update(np.asarray(self.beat_times_s, np.float64).tobytes())
        h.update(b"|" + np.asarray(self.downbeat_times_s, np.float64).tobytes())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class FittedPreview:
    """A rendered fit: the request it answers, its plan, and the WAV to play from 0."""

    request: FitRequest
    plan: FitPlan
    audio_path: Path


def plan_request(request: FitRequest, *, config: FitConfig = FitConfig()) -> FitPlan:
    """The fit plan of ``request`` (``MediaError`` naming the track when it cannot be fitted)."""
    y = media.decode_audio(request.track, sr_hz=config.analysis_sr_hz)
    downbeats = np.asarray(request.downbeat_times_s, np.float64)
    try:
        return plan_fit(y, sr_hz=config.analysis_sr_hz, beat_times_s=np.asarray(request.beat_times_s, np.float64),
                        offset_s=request.offset_s, duration_s=request.duration_s,
                        downbeat_times_s=downbeats if len(downbeats) else None, config=config)
    except FitError as exc:
        raise MediaError(request.track, str(exc)) from None


def render_preview(request: FitRequest, *, cache_dir: str | os.PathLike[str], config: FitConfig = FitConfig(),
                   progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> FittedPreview | None:
    """Plan ``request``, render it and write ``cache_dir/fit-<key>.wav`` (atomically); None when
    cancelled. Older renders beyond :data:`KEEP_RENDERS` are removed."""
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    report(progress, 0, STEPS, f"Fitting {request.track.name} to {request.duration_s:.1f} s…")
    plan = plan_request(request, config=config)
    if cancelled(cancel):
        return None
    report(progress, 1, STEPS, f"Rendering the fitted {request.track.name}…")
    audio = render_track(request.track, plan, sr_hz=PREVIEW_SR_HZ)
    if cancelled(cancel):
        return None
    report(progress, 2, STEPS, "Writing the fitted music…")
    path = write_wav(audio, folder / f"fit-{request.key}.wav", sr_hz=PREVIEW_SR_HZ)
    _prune(folder, keep=KEEP_RENDERS)
    report(progress, STEPS, STEPS, "Fitted")
    return FittedPreview(request, plan, path)


def _prune(folder: Path, *, keep: int) -> None:
    renders = sorted(folder.glob("fit-*.wav"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in renders[keep:]:
        old.unlink(missing_ok=True)
