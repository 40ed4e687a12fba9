"""Benchmark inputs from the real media: looped upscaled video, excerpts, the paper reference."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.bench.fixtures import excerpt_files, excerpt_plan, footage_files, make_video, music_files
from bgmatch.bench.paper import paper_video_features
from bgmatch.bench.probe import current_rss_bytes, peak_rss_bytes
from bgmatch.engine.analysis import media


@pytest.fixture(scope="module")
def small_video(tmp_path_factory, media_root):
    path = tmp_path_factory.mktemp("bench") / "v.mp4"
    return make_video(path, footage_files(media_root), duration_s=6, width=320, height=180, seed=1)


def test_video_has_the_asked_length_size_and_cuts(small_video):
    info = media.probe(small_video)
    assert (info.width, info.height) == (320, 180) and info.duration_s == pytest.approx(6.0, abs=0.05)
    frames = media.decode_frames(small_video, width_px=160)
    assert len(frames.frames) == 150
    jumps = np.abs(np.diff(frames.frames.astype(np.float32), axis=0)).mean(axis=(1, 2))
    assert jumps.max() > 4 * np.median(jumps)  # shots last at most 4 s: at least one cut
    mtime = small_video.stat().st_mtime_ns
    assert make_video(small_video, [], duration_s=6, width=320, height=180) == small_video  # cached
    assert small_video.stat().st_mtime_ns == mtime


def _frame_types(path) -> str:
    import av

    with av.open(str(path)) as c:
        return "".join(" IPBS"[int(f.pict_type)] for f in c.decode(c.streams.video[0]))


def test_encoder_picks_frame_types(small_video, tmp_path, media_root):
    # The footage's own frame types are not copied: x264 uses B-frames where it likes (most
    # frames, like an editor's export) or none at all (like most cameras).
    assert _frame_types(small_video).count("B") > 50
    no_b = make_video(tmp_path / "p.mp4", footage_files(media_root), duration_s=2, width=320, height=180, b_frames=False)
    assert "B" not in _frame_types(no_b) and len(_frame_types(no_b)) == 50


def test_paper_reference_reads_every_frame_with_flow(small_video):
    features = paper_video_features(small_video)
    assert features.n_frames == 150 and features.flow_magnitude[0] == 0.0
    assert (features.flow_magnitude[1:] >= 0).all() and features.flow_magnitude.max() > 0
    assert features.clip_means.shape == (2,)


def test_excerpt_plan_spreads_over_tracks_offsets_and_speeds():
    plan = excerpt_plan([100.0, 20.0, 400.0], 7)
    assert [t for t, _, _ in plan] == [0, 2, 0, 2, 0, 2, 0]  # the 20 s track is too short
    assert len({(t, o, s) for t, o, s in plan}) == 7
    assert all(o + 30 * s <= [100.0, 20.0, 400.0][t] for t, o, s in plan)


def test_excerpts_are_thirty_second_files(tmp_path, media_root):
    files = excerpt_files(tmp_path, music_files(media_root), n=2)
    assert len(files) == 2 and all(f.exists() for f in files)
    assert media.probe(files[1]).duration_s == pytest.approx(30.0, abs=0.1)


def test_rss_readings():
    assert peak_rss_bytes() >= current_rss_bytes() > 10 * 2**20
