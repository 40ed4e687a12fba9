"""The session's beat-grid corrections move the chosen track's downbeats, and its fit request
plans joins on the library's stored, corrected bar lines (a real library of demo music and the
demo video)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bgmatch.engine.library import Library, probe
from bgmatch.engine.session import LoadedVideo, Session
from bgmatch.engine.session.fitpreview import plan_request

REPO = Path(__file__).resolve().parents[2]
DEMO_VIDEO = REPO / "assets" / "demo" / "video.mp4"


def test_corrections_move_downbeats_and_the_fit_uses_them(tmp_path, demo_music):
    with Library.open(tmp_path / "lib") as library:
        assert len(library.add(demo_music[:2]).added) == 2
        query = library.query(DEMO_VIDEO)
        suggestions = library.suggest(query, top=2)
        session = Session(library)
        session.set_video(LoadedVideo(DEMO_VIDEO, probe(DEMO_VIDEO), query.analysis), suggestions)
        before = np.asarray(session.details.downbeat_times_s)
        assert len(before) > 4 and session.details.section_times_s
        session.shift_half_beat()
        after = np.asarray(session.details.downbeat_times_s)
        half = session.details.correction.shift_s
        assert half > 0 and np.allclose(after[:4], before[:4] + half)
        session.double_tempo()
        assert np.allclose(np.asarray(session.details.downbeat_times_s)[:4], after[:4])
        request = session.fit_request()
        downs = np.asarray(session.details.downbeat_times_s)
        assert np.allclose(request.downbeat_times_s, downs)
        plan = plan_request(request)
        assert plan.grid == "downbeats"
        assert np.abs(np.asarray(plan.bar_times_s)[:, None] - downs[None]).min(axis=1).max() < 1e-6
        assert abs(plan.target_duration_s - probe(DEMO_VIDEO).duration_s) < 1e-6
