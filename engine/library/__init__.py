"""The engine's door. The app and the CLI reach the engine only through this package,
:mod:`bgmatch.engine.errors` and :mod:`bgmatch.engine.session` (``tests/test_architecture.py``
holds them to it): the :class:`Library` facade, what it returns, and the few functions that need
no library (probing a video, exporting, choosing a model, the default folders).
"""
from __future__ import annotations

from ..analysis.beatgrid import BeatGridCorrection
from ..analysis.fitmeasure import FitMeasure, measure_fit
from ..analysis.media import MediaInfo, probe
from ..analysis.motion import VideoAnalysis
from ..analysis.rhythm import MusicAnalysis, beat_tracker_is_cold
from ..analysis.waveform import Waveform
from ..learned.bundle_format import BUNDLE_MANIFEST
from ..learned.modelchoice import DEFAULT as DEFAULT_MODEL
from ..learned.modelchoice import NONE as NO_MODEL
from ..learned.modelchoice import default_bundle_path, default_model_path, load_model_choice, resolve_model_choice
from ..output.export import ExportConfig, ExportResult, export, export_video
from ..output.fit import FitConfig, FitPlan
from ..output.fit_render import FitResult, write_fit
from ..output.timeline import FORMATS as TIMELINE_FORMATS
from ..output.timeline import TimelineResult, export_timeline
from ..progress import CancelFn, ProgressFn
from .describe import TrackDescription, describe_track
from .distributed import add_with_ray
from .facade import Library
from .folders import default_library_folder, demo_library_folder
from .results import (AddReport, EmbedReport, SearchHit, Suggestion, TagReport, TrackDetails, TrackInfo,
                      VideoQuery)
from .settings import LibraryConfig
from .trackfilter import TrackFilter
from .videos import check_video
from .walk import AUDIO_EXTENSIONS

__all__ = [
    "TIMELINE_FORMATS",
    "AUDIO_EXTENSIONS", "FitMeasure", "measure_fit",
    "AddReport", "BUNDLE_MANIFEST", "BeatGridCorrection", "CancelFn", "DEFAULT_MODEL", "EmbedReport", "ExportConfig",
    "ExportResult", "FitConfig", "FitPlan", "FitResult", "TimelineResult", "export_timeline", "export_video", "write_fit",
    "Library", "LibraryConfig", "MediaInfo", "MusicAnalysis", "NO_MODEL", "ProgressFn", "SearchHit", "Suggestion",
    "TagReport", "TrackDescription", "TrackDetails", "describe_track",
    "TrackFilter", "TrackInfo", "VideoAnalysis", "VideoQuery", "add_with_ray", "beat_tracker_is_cold", "check_video",
    "default_bundle_path", "default_model_path", "default_library_folder", "demo_library_folder", "export",
    "load_model_choice", "probe", "resolve_model_choice", "Waveform",
]
