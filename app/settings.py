"""What the app remembers between runs (QSettings): library path, layout, last folders, model.

Settings are stored in an INI file in the user's config folder. Tests point QSettings at a
temporary folder with :meth:`QSettings.setPath` before creating :class:`AppSettings`.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings

ORGANIZATION = "bgmatch"
APPLICATION = "bgmatch"
#: Model choices besides a bundle folder (``engine.modelchoice.DEFAULT`` / ``NONE``; not imported,
#: as that loads torch): the shipped model when there is one, and the analysis-only score.
MODEL_DEFAULT = "default"
MODEL_NONE = "none"
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
        """The music library folder (the CLI's default until the user picks one)."""
        return self._path("library/path") or default_library_path()

    @library_path.setter
    def library_path(self, path: Path) -> None:
        self.qsettings.setValue("library/path", str(path))

    def last_folder(self, kind: str) -> Path:
        """Last folder used for ``kind`` ("video", "music", "export", "training"); home if none."""
        path = self._path(f"folders/{kind}")
        return path if path is not None and path.is_dir() else Path.home()

    def set_last_folder(self, kind: str, folder: Path) -> None:
        """Remember ``folder`` as the last one used for ``kind``."""
        self.qsettings.setValue(f"folders/{kind}", str(folder))

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
