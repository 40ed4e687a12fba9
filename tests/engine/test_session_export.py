"""What an export of the session fits with: the session's plan when it still matches, else a fresh plan."""
from __future__ import annotations

from pathlib import Path

from bgmatch.engine.library import ExportConfig, FitConfig, FitPlan
from bgmatch.engine.output.fit import Segment
from bgmatch.engine.session import ExportRequest


def plan(offset_s: float, duration_s: float) -> FitPlan:
    return FitPlan(track_duration_s=60.0, offset_s=offset_s, target_duration_s=duration_s,
                   segments=(Segment(offset_s, 60.0, 0.0),), grid="downbeats", bar_times_s=(), beat_times_s=())


def request(fit_plan: FitPlan | None, offset_s: float = 45.0, duration_s: float = 30.0) -> ExportRequest:
    return ExportRequest(Path("v.mp4"), Path("t.ogg"), offset_s, ExportConfig(), fit_plan, duration_s)


def test_fit_uses_the_session_plan_only_when_it_matches_the_offset_and_length():
    made = plan(45.0, 30.0)
    assert request(made).fit(enabled=True) is made
    assert request(made, offset_s=45.0005).fit(enabled=True) is made  # within a millisecond
    assert request(made).fit(enabled=False) is None
    assert isinstance(request(None).fit(enabled=True), FitConfig)  # no plan: the export plans one
    assert isinstance(request(made, offset_s=44.0).fit(enabled=True), FitConfig)  # nudged since: plan again
    assert isinstance(request(made, duration_s=31.0).fit(enabled=True), FitConfig)


def test_the_preview_switch_asks_for_a_fit_before_its_plan_is_ready():
    assert not request(None).fits
    assert request(plan(45.0, 30.0)).fits
    switched = ExportRequest(Path("v.mp4"), Path("t.ogg"), 45.0, ExportConfig(), None, 30.0, fit_enabled=True)
    assert switched.fits and isinstance(switched.fit(enabled=switched.fits), FitConfig)
