"""What the app remembers between runs (QSettings): library path, layout, last folders, model.

Settings are stored in an INI file in the user's config folder. Tests point QSettings at a
temporary folder with :meth:`QSettings.setPath` before creating :class:`AppSettings`.
"""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings

ORGANIZATION = "bgmatch"
APPLICATION = "bgmatch"
#: Model choices besides a bundle folder (``engine.modelchoice.DEFAULT`` / ``NONE``; not imported,
#: as that loads torch): the shipped model when there is one and it counts, and the analysis-only score.
MODEL_DEFAULT = "default"
MODEL_NONE = "none"
#: Projects (video folders) whose export folder is remembered.
EXPORT_FOLDERS_KEPT = 50
#: What older versions saved for the analysis-only score.
_OLD_ANALYSIS_ONLY = "analysis"


def default_library_path() -> Path:
    """The library folder the CLI uses by default (bgmatch's folder in the user data dir)."""
    from bgmatch.engine.library import default_library_folder

    return default_library_folder()


class AppSettings:
    """Typed access to the app's persistent settings."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        if qsettings is None:
            org = QCoreApplication.organizationName() or ORGANIZATION
            app = QCoreApplication.applicationName() or APPLICATION
            qsettings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, org, app)
        self.qsettings = qsettings
        self._library_once: Path | None = None

    @property
    def file_path(self) -> str:
        """Where the settings are stored."""
        return self.qsettings.fileName()

    def sync(self) -> None:
        """Write pending changes to disk."""
        self.qsettings.sync()

    def _path(self, key: str) -> Path | None:
        value = self.qsettings.value(key, "", str)
        return Path(value) if value else None

    # -- library and folders -----------------------------------------------------------------
    @property
    def library_path(self) -> Path:
        """The music library folder: a one-off one (:meth:`use_library_once`) while it is in use,
        else the saved one (the CLI's default until the user picks one in the app)."""
        return self._library_once or self._path("library/path") or default_library_path()

    @library_path.setter
    def library_path(self, path: Path) -> None:
        """Remember ``path`` as the library: the one-off library being (re)opened is not saved;
        another one replaces the one-off and is saved."""
        if self._library_once is not None and Path(path) == self._library_once:
            return
        self._library_once = None
        self.qsettings.setValue("library/path", str(path))

    def use_library_once(self, path: Path) -> None:
        """Use ``path`` as the library of this run only (``bgmatch app --library PATH``): the
        saved library stays the default of the next start."""
        self._library_once = Path(path)

    @property
    def saved_library_path(self) -> Path:
        """The library the next start opens (the one chosen in the app, else the CLI's default)."""
        return self._path("library/path") or default_library_path()

    def last_folder(self, kind: str) -> Path:
        """Last folder used for ``kind`` ("video", "music", "export", "training"); home if none."""
        path = self._path(f"folders/{kind}")
        return path if path is not None and path.is_dir() else Path.home()

    def set_last_folder(self, kind: str, folder: Path) -> None:
        """Remember ``folder`` as the last one used for ``kind``."""
        self.qsettings.setValue(f"folders/{kind}", str(folder))

    def export_folder(self, video: Path) -> Path:
        """Where to offer an export of ``video``: the folder its project's last export went to
        (a project is the video's folder), else the video's own folder (home when that is gone)."""
        chosen = self._export_folders().get(str(Path(video).parent))
        for folder in (Path(chosen) if chosen else None, Path(video).parent):
            if folder is not None and folder.is_dir():
                return folder
        return Path.home()

    def set_export_folder(self, video: Path, folder: Path) -> None:
        """Remember that exports of videos in ``video``'s folder went to ``folder`` (the newest
        :data:`EXPORT_FOLDERS_KEPT` projects are kept)."""
        folders = self._export_folders()
        folders.pop(str(Path(video).parent), None)
        folders[str(Path(video).parent)] = str(folder)
        kept = dict(list(folders.items())[-EXPORT_FOLDERS_KEPT:])
        self.qsettings.setValue("folders/exports", json.dumps(kept))
        self.set_last_folder("export", folder)

    def _export_folders(self) -> dict[str, str]:
        try:
            value = json.loads(self.qsettings.value("folders/exports", "{}", str) or "{}")
        except json.JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    # -- export ------------------------------------------------------------------------------
    def export_loudness(self, *, default_lufs: float | None, default_ceiling_dbtp: float) -> tuple[float | None, float]:
        """The export dialog's last loudness choice: target LUFS (None: keep the track's level) and
        true-peak ceiling (dBTP); the defaults given until the user exported once."""
        mode = self.qsettings.value("export/loudness", "", str)
        ceiling = self.qsettings.value("export/ceiling_dbtp", "", str)
        try:
            target = default_lufs if mode == "" else None if mode == "keep" else float(mode)
            return target, float(ceiling) if ceiling else default_ceiling_dbtp
        except ValueError:  # a hand-edited settings file
            return default_lufs, default_ceiling_dbtp

    def set_export_loudness(self, target_lufs: float | None, ceiling_dbtp: float) -> None:
        """Remember the export dialog's loudness choice."""
        self.qsettings.setValue("export/loudness", "keep" if target_lufs is None else f"{target_lufs:g}")
        self.qsettings.setValue("export/ceiling_dbtp", f"{ceiling_dbtp:g}")

    @property
    def timeline_suffix(self) -> str:
        """The file type of the last timeline export (".otio" until one was made)."""
        return self.qsettings.value("export/timeline_suffix", ".otio", str) or ".otio"

    @timeline_suffix.setter
    def timeline_suffix(self, suffix: str) -> None:
        self.qsettings.setValue("export/timeline_suffix", suffix)

    # -- model -------------------------------------------------------------------------------
    @property
    def model_choice(self) -> str:
        """A model bundle folder, :data:`MODEL_DEFAULT` (when not set) or :data:`MODEL_NONE`."""
        value = self.qsettings.value("model/choice", MODEL_DEFAULT, str) or MODEL_DEFAULT
        return MODEL_NONE if value == _OLD_ANALYSIS_ONLY else value

    @model_choice.setter
    def model_choice(self, value: str) -> None:
        self.qsettings.setValue("model/choice", value)

    # -- window layout -----------------------------------------------------------------------
    def layout(self, name: str) -> QByteArray | None:
        """A saved geometry or state blob (``name`` e.g. "geometry", "state", "splitter/main")."""
        value = self.qsettings.value(f"window/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_layout(self, name: str, blob: QByteArray) -> None:
        """Save a geometry or state blob."""
        self.qsettings.setValue(f"window/{name}", blob)

    # -- preview -----------------------------------------------------------------------------
    @property
    def volume(self) -> float:
        """Preview volume, 0–1."""
        return min(1.0, max(0.0, float(self.qsettings.value("preview/volume", 0.8, float))))

    @volume.setter
    def volume(self, value: float) -> None:
        self.qsettings.setValue("preview/volume", float(value))
