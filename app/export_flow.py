"""File ▸ Export With Track… and File ▸ Export Timeline…: the engine's export and timeline in a
worker (progress, Cancel), then the measured loudness or what the format drops, and *Show in Folder*.

The dialogs open in the folder the last export of a video from the same folder went to, else
in the video's own folder (``AppSettings.export_folder``).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from bgmatch.engine.library import TIMELINE_FORMATS, ExportConfig, ExportResult, TimelineResult
from bgmatch.engine.session import ExportRequest

from . import jobs
from .export_dialog import ExportDialog
from .shell import Shell
from .workers import Job

#: Containers the export writes; another suffix is replaced by ``.mp4``.
EXPORT_SUFFIXES = {".mp4", ".m4v", ".mov"}
#: What the app says where the engine's message advises ``--fit``.
EXPORT_FIT_HINT = "turn on “Fit the music to the video”"
TIMELINE_FIT_HINT = "turn on “Fit to video” in the preview"
#: The applications each timeline format is for (file-dialog filter names); a format the engine
#: adds later is offered under its extension.
TIMELINE_NAMES = {
    ".otio": "OpenTimelineIO",
    ".fcpxml": "Final Cut Pro X / DaVinci Resolve",
    ".xml": "Final Cut Pro 7 XML / Premiere Pro",
    ".edl": "CMX 3600 EDL",
    ".kdenlive": "Kdenlive / Shotcut (MLT)",
}

#: Where a fit plan's joins lie, by its grid (``FitPlan.grid``).
GRID_WORDS = {"downbeats": "on bar lines", "every-4-beats": "on bar lines (every 4 beats: no downbeats found)",
              "none": "without a beat grid (no beats found)"}


def timeline_filters() -> list[str]:
    """File-dialog filters, one per timeline format the engine writes ("OpenTimelineIO (*.otio)")."""
    return [f"{TIMELINE_NAMES.get(suffix, suffix[1:].upper() + ' timeline')} (*{suffix})"
            for suffix in TIMELINE_FORMATS]


def filter_suffix(name_filter: str) -> str | None:
    """The extension of a filter made by :func:`timeline_filters` (None for another text)."""
    for suffix, text in zip(TIMELINE_FORMATS, timeline_filters()):
        if text == name_filter:
            return suffix
    return None


def app_wording(message: str, *, fit_hint: str) -> str:
    """The engine's one-line error with its CLI advice ("use --fit") in the app's words (``fit_hint``)."""
    return message.replace("use --fit", fit_hint)


def describe_loudness(result: ExportResult) -> str:
    """What the engine measured on the written file, in a sentence."""
    report = result.loudness
    if report is None:
        return "The music keeps the track's own level (not normalised)."
    return (f"Music at {report.output_lufs:.1f} LUFS integrated (target {report.target_lufs:.1f} LUFS; "
            f"{report.gain_db:+.1f} dB), true peak {report.true_peak_dbtp:.1f} dBTP.")


def describe_fit(result: ExportResult) -> str:
    """How the music was fitted, in a sentence ("" when it was not)."""
    plan = result.plan
    if plan is None:
        return ""
    joins = len(plan.segments) - 1
    where = GRID_WORDS.get(plan.grid, plan.grid)
    text = f"Fitted to the video: {joins} join{'s' if joins != 1 else ''} {where}."
    return " ".join([text, *plan.warnings])


class ExportFlow(QObject):
    """The export and timeline jobs, the dialog, and the last files written
    (:attr:`exported_path`, :attr:`exported`, :attr:`timeline`)."""

    def __init__(self, window: Shell) -> None:
        super().__init__(window)  # type: ignore[arg-type]  # the window is a QObject
        self.window = window
        self.job: Job | None = None
        self.dialog: ExportDialog | None = None
        self.exported_path: Path | None = None
        self.exported: ExportResult | None = None
        self.timeline: TimelineResult | None = None
        window.export_task.cancel_requested.connect(self.cancel)

    # -- export with track -------------------------------------------------------------------
    def _request(self) -> ExportRequest | None:
        w = self.window
        request = w.session.export_request()
        if request is None or w.session.chosen is None:
            w.show_error("Open a video and choose a track before exporting.")
            return None
        if self.job is not None:
            w.show_error("An export is already running.")
            return None
        return request

    def export(self, out_path: Path | None = None, *, fit: bool | None = None) -> Job | None:
        """Export the session's video with the chosen track at its offset, with the session's
        export settings; ``fit`` None: fit when the session has a fit plan. Without ``out_path``
        the export dialog asks (see :meth:`open_dialog`); returns the job started, if any."""
        request = self._request()
        if request is None:
            return None
        if out_path is None:
            self.open_dialog()
            return None
        return self._start_export(request, out_path, fit=request.fits if fit is None else fit)

    def open_dialog(self) -> ExportDialog | None:
        """Show the export dialog (file, loudness, fit); Export starts the job."""
        request = self._request()
        if request is None:
            return None
        w = self.window
        chosen = w.session.chosen
        assert chosen is not None
        folder = w.settings.export_folder(request.video)
        default = ExportConfig()
        target, ceiling = w.settings.export_loudness(default_lufs=default.target_lufs,
                                                      default_ceiling_dbtp=default.ceiling_dbtp)
        config = request.config
        if config == default:  # the session's settings were not changed: the user's last choice
            config = ExportConfig(target_lufs=target, ceiling_dbtp=ceiling)
        note = ("The preview's fit plan is used." if request.fit_plan is not None else
                "The export plans the fit (the preview has none yet). Without fit, a track that ends "
                "before the video is refused.")
        parent: QWidget = w  # type: ignore[assignment]  # the window is a QWidget
        dialog = ExportDialog(parent, out_path=folder / f"{request.video.stem} + {chosen.title}.mp4",
                              config=config, fit=request.fits, fit_note=note, browse=self._browse)
        dialog.accepted.connect(lambda: self._dialog_accepted(dialog))
        dialog.finished.connect(lambda _code: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _browse(self, current: Path) -> Path | None:
        parent: QWidget = self.window  # type: ignore[assignment]  # the window is a QWidget
        picked, _ = QFileDialog.getSaveFileName(parent, "Export video with track", str(current),
                                                "MP4 video (*.mp4 *.m4v *.mov)")
        return Path(picked) if picked else None

    def _dialog_accepted(self, dialog: ExportDialog) -> None:
        w = self.window
        config = dialog.config()
        w.session.set_export_config(config)
        w.settings.set_export_loudness(config.target_lufs, config.ceiling_dbtp)
        request = self._request()
        if request is not None:
            self._start_export(request, dialog.out_path(), fit=dialog.fit())

    def _start_export(self, request: ExportRequest, out_path: Path, *, fit: bool) -> Job:
        w = self.window
        if out_path.suffix.lower() not in EXPORT_SUFFIXES:
            out_path = out_path.with_suffix(".mp4")
        w.settings.set_export_folder(request.video, out_path.parent)
        self.job = w.runner.start(
            "export", "export", jobs.export_job(request.video, request.track, request.offset_s, out_path,
                                                request.config, request.fit(enabled=fit)),
            progress=w.export_task.progress, succeeded=self._exported,
            failed=lambda message: w.show_error(app_wording(message, fit_hint=EXPORT_FIT_HINT)),
            cancelled=self._cancelled, done=self._done)
        w.export_task.start(f"Exporting {out_path.name}…")
        return self.job

    def _exported(self, result: ExportResult) -> None:
        self.exported, self.exported_path = result, Path(result.path)
        loudness = describe_loudness(result)
        self.window.set_status(f"Exported {result.path} · {loudness}")
        text = "\n".join(t for t in (f"Wrote {result.path}", describe_fit(result), loudness) if t)
        self._offer_reveal("Export finished", text, Path(result.path))

    # -- timeline ----------------------------------------------------------------------------
    def export_timeline(self, out_path: Path | None = None) -> Job | None:
        """Write a timeline of the session's video and chosen track (with the session's fit plan
        when there is one) in the format of the file's extension; asks where when not given."""
        request = self._request()
        if request is None:
            return None
        w = self.window
        if out_path is None:
            chosen = w.session.chosen
            assert chosen is not None
            suffix = w.settings.timeline_suffix if w.settings.timeline_suffix in TIMELINE_FORMATS else ".otio"
            default = w.settings.export_folder(request.video) / f"{request.video.stem} + {chosen.title}{suffix}"
            filters = timeline_filters()
            picked, chosen_filter = QFileDialog.getSaveFileName(
                w, "Export timeline", str(default), ";;".join(filters),  # type: ignore[arg-type]
                filters[list(TIMELINE_FORMATS).index(suffix)])
            if not picked:
                return None
            out_path = Path(picked)
            if not out_path.suffix:  # a name typed without a type: the chosen filter's
                out_path = out_path.with_name(out_path.name + (filter_suffix(chosen_filter) or suffix))
        if out_path.suffix.lower() in TIMELINE_FORMATS:
            w.settings.timeline_suffix = out_path.suffix.lower()
        w.settings.set_export_folder(request.video, out_path.parent)
        video = w.session.video
        cuts = [float(t) for t in video.analysis.cut_times_s] if video is not None else None
        self.job = w.runner.start(
            "export", "timeline", jobs.timeline_job(request.video, request.track, request.offset_s, out_path,
                                                    fit=request.fit(enabled=request.fits),
                                                    cut_times_s=cuts),
            progress=w.export_task.progress, succeeded=self._timeline_written,
            failed=lambda message: w.show_error(app_wording(message, fit_hint=TIMELINE_FIT_HINT)),
            cancelled=self._cancelled, done=self._done)
        w.export_task.start(f"Writing {out_path.name}…")
        return self.job

    def _timeline_written(self, result: TimelineResult) -> None:
        self.timeline = result
        self.window.set_status(f"Wrote timeline {result.path}")
        fitted = "with the fitted music" if result.plan is not None else "with the track trimmed to the video"
        self._offer_reveal("Timeline written", f"Wrote {result.path} ({fitted}).\nThis format {result.dropped}.",
                           Path(result.path))

    # -- both --------------------------------------------------------------------------------
    def _offer_reveal(self, title: str, text: str, path: Path) -> None:
        box = self.window.show_message(title, text)
        reveal = box.addButton("Show in Folder", QMessageBox.ButtonRole.ActionRole)
        reveal.clicked.connect(lambda: self.reveal(path))

    def cancel(self) -> None:
        """Stop the export (the partial file is removed)."""
        if self.job is not None:
            self.job.cancel()

    def reveal(self, path: Path) -> None:
        """Open the folder holding ``path`` in the file manager."""
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent))):
            self.window.show_error(f"{path.parent}: no file manager could open this folder")

    def _cancelled(self) -> None:
        self.window.set_status("Export cancelled; no file was written.")

    def _done(self) -> None:
        self.job = None
        self.window.export_task.finish()
