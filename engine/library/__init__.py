"""The engine's door. The app and the CLI reach the engine only through this package,
:mod:`bgmatch.engine.errors` and :mod:`bgmatch.engine.session` (``tests/test_architecture.py``
holds them to it): the :class:`Library` facade, what it returns, and the few functions that need
no library (probing a video, exporting, choosing a model, the default folders).

The names are loaded on first use (PEP 562), so importing one submodule, say
:mod:`bgmatch.engine.library.index`, does not pull in the decoders, the store and the exporters.
"""
from __future__ import annotations

import importlib
from typing import Any

#: Each public name, by the module that defines it.
_SOURCES: dict[str, tuple[str, ...]] = {
    "..analysis.beatgrid": ("BeatGridCorrection",),
    "..analysis.fitmeasure": ("FitMeasure", "measure_fit"),
    "..analysis.media": ("MediaInfo", "probe"),
    "..analysis.motion": ("VideoAnalysis",),
    "..analysis.rhythm": ("MusicAnalysis", "beat_tracker_is_cold"),
    "..analysis.waveform": ("Waveform",),
    "..learned.bundle_format": ("BUNDLE_MANIFEST",),
    "..learned.modelchoice": ("default_bundle_path", "default_model_path", "load_model_choice",
                              "resolve_model_choice"),
    "..output.export": ("ExportConfig", "ExportResult", "export", "export_video"),
    "..output.fit": ("FitConfig", "FitPlan"),
    "..output.fit_render": ("FitResult", "write_fit"),
    "..output.timeline": ("TimelineResult", "export_timeline"),
    "..progress": ("CancelFn", "ProgressFn"),
    ".describe": ("TrackDescription", "describe_track"),
    ".distributed": ("add_with_ray",),
    ".facade": ("Library",),
    ".folders": ("default_library_folder", "demo_library_folder"),
    ".results": ("AddReport", "EmbedReport", "SearchHit", "Suggestion", "TagReport", "TrackDetails", "TrackInfo",
                 "VideoQuery"),
    ".settings": ("LibraryConfig",),
    ".trackfilter": ("TrackFilter",),
    ".videos": ("check_video",),
    ".walk": ("AUDIO_EXTENSIONS",),
}
#: Names exported under another name than their module gives them.
_ALIASES: dict[str, tuple[str, str]] = {
    "DEFAULT_MODEL": ("..learned.modelchoice", "DEFAULT"),
    "NO_MODEL": ("..learned.modelchoice", "NONE"),
    "TIMELINE_FORMATS": ("..output.timeline", "FORMATS"),
}
_WHERE: dict[str, tuple[str, str]] = {
    **{name: (module, name) for module, names in _SOURCES.items() for name in names}, **_ALIASES}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` the first time it is asked for, and keep it."""
    try:
        module, attr = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
