"""BeatCut: silent videos edited from real footage on the beats of real music (DESIGN §5)."""
from .edit import (CutPlan, CutSource, EditConfig, EditManifest, ReferenceRhythm, TrackerCuts, edit_to_music,
                   energy_curve, energy_levels, plan_cuts, render_video)
from .sources import ClipSource, PhotoSource, find_footage, open_source

__all__ = [
    "ClipSource",
    "CutPlan",
    "CutSource",
    "EditConfig",
    "EditManifest",
    "PhotoSource",
    "ReferenceRhythm",
    "TrackerCuts",
    "edit_to_music",
    "energy_curve",
    "energy_levels",
    "find_footage",
    "open_source",
    "plan_cuts",
    "render_video",
]
