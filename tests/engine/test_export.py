"""Export: the video's picture with the track from an offset, trimmed and faded."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bgmatch.engine.analysis import media
from bgmatch.engine.errors import BgmatchError, MediaError
from bgmatch.engine.output.export import ExportConfig, export, fade


@pytest.mark.parametrize("clip", ["bikes.mp4", "tree.avi"])  # copied H.264 / re-encoded MPEG-4 part 2 in AVI
def test_export_trims_and_fades(tmp_path, footage_dir, music_files, clip):
    video = footage_dir / clip
    track = music_files[0]
    steps = []
    out = export(video, track, offset_s=12.0, out_path=tmp_path / "out.mp4",
                 progress=lambda done, total, message: steps.append((done, total, message)))
    info, src = media.probe(out), media.probe(video)
    assert info.has_video and info.has_audio
    assert info.duration_s == pytest.approx(src.duration_s, abs=0.15)
    got = media.decode_audio(out, sr_hz=8000)
    assert len(got) / 8000 == pytest.approx(src.duration_s, abs=0.1)
    want = media.decode_audio(track, sr_hz=8000, offset_s=12.0, max_duration_s=src.duration_s)
    mid = slice(len(got) // 3, 2 * len(got) // 3)
    assert np.corrcoef(got[mid], want[mid])[0, 1] > 0.9  # the track, from the offset
    assert np.abs(got[:80]).max() < 0.2 * np.abs(got[mid]).max()  # faded in
    assert np.abs(got[-80:]).max() < 0.2 * np.abs(got[mid]).max()  # faded out
    done = [d for d, _, _ in steps]
    assert steps[-1][0] == steps[-1][1] > 0 and done == sorted(done)  # (done, total, message), to the end
    assert {t for _, t, _ in steps} == {steps[-1][1]} and all("out.mp4" in m for _, _, m in steps)
    frames, src_frames = media.decode_frames(out, fps=5), media.decode_frames(video, fps=5)
    assert len(frames.frames) == pytest.approx(len(src_frames.frames), abs=2)  # same picture timing
    assert np.allclose(frames.times_s[:10], src_frames.times_s[:10], atol=0.05)
    assert not list(tmp_path.glob(".*part"))


def test_export_bad_inputs(tmp_path, footage_dir, music_files):
    with pytest.raises(MediaError, match="past the end"):
        export(footage_dir / "bikes.mp4", music_files[0], offset_s=1e5, out_path=tmp_path / "o.mp4")
    with pytest.raises(MediaError, match="no audio track"):
        export(footage_dir / "bikes.mp4", footage_dir / "bikes.mp4", offset_s=0, out_path=tmp_path / "o.mp4")
    with pytest.raises(BgmatchError, match="MP4"):
        export(footage_dir / "bikes.mp4", music_files[0], offset_s=0, out_path=tmp_path / "o.avi")
    assert not (tmp_path / "o.mp4").exists()


def test_fade_is_equal_power_and_leaves_the_middle():
    x = np.ones((2, 1000), np.float32)
    y = fade(x, sr_hz=100, fade_in_s=1.0, fade_out_s=2.0)
    assert y[0, 0] == 0 and y[0, 500] == 1 and y[0, -1] < 1e-3
    assert y[0, 50] == pytest.approx(0.5, abs=0.02)  # sin² at the middle of the ramp
    assert ExportConfig().fade_in_s > 0


def test_a_track_that_runs_out_is_refused_in_one_line(tmp_path, footage_dir, demo_music):
    track = next(p for p in demo_music if p.name == "nebula.opus")  # 60 s
    video = footage_dir / "tree.avi"  # 29.6 s
    with pytest.raises(MediaError) as err:
        export(video, track, offset_s=50.0, out_path=tmp_path / "o.mp4")
    message = str(err.value)
    assert "\n" not in message and "nebula.opus" in message
    assert "10.00 s of music" in message and "29.60 s video" in message and "--fit" in message
    assert not list(tmp_path.iterdir())


def test_fitted_export_lasts_the_video_at_the_target_loudness(tmp_path, footage_dir, demo_music):
    from bgmatch.engine.output.export import export_video
    from bgmatch.engine.output.fit import FitConfig
    from bgmatch.engine.output.loudness import integrated_lufs

    track = next(p for p in demo_music if p.name == "nebula.opus")
    video = footage_dir / "tree.avi"
    result = export_video(video, track, offset_s=50.0, out_path=tmp_path / "fit.mp4", fit=FitConfig(),
                          config=ExportConfig(target_lufs=-16.0))
    src = media.probe(video)
    got = media.decode_audio(result.path, sr_hz=48000, stereo=True)
    assert abs(got.shape[1] / 48000 - src.duration_s) < 1 / 25 + 0.03  # AAC frames: within a frame and a packet
    assert result.plan is not None and result.plan.segments[0].source_start_s == 50.0
    assert abs(result.loudness.output_lufs - (-16.0)) < 0.5
    assert abs(integrated_lufs(got, sr_hz=48000) - (-16.0)) < 0.5
    # The first seconds are the track from the offset (after the fade-in), as the sync needs.
    want = media.decode_audio(track, sr_hz=48000, offset_s=50.0, max_duration_s=4.0, stereo=True)
    mid = slice(48000, 3 * 48000)
    assert np.corrcoef(got[0, mid], want[0, mid])[0, 1] > 0.9


def test_the_written_file_keeps_the_true_peak_ceiling(tmp_path, demo_music):
    """AAC encoding overshoots the limited peaks (-0.66 dBTP measured for nebula at -14 LUFS
    before the export limited again): the file a player gets stays under the ceiling, and the
    report says what the file measures."""
    from bgmatch.engine.output.export import CEILING_SLACK_DB, export_video
    from bgmatch.engine.output.loudness import integrated_lufs, true_peak_dbtp

    track = next(p for p in demo_music if p.name == "nebula.opus")
    video = Path(__file__).resolve().parents[2] / "assets" / "demo" / "video.mp4"
    result = export_video(video, track, offset_s=4.75, out_path=tmp_path / "peak.mp4", config=ExportConfig())
    got = media.decode_audio(result.path, sr_hz=48000, stereo=True)
    assert true_peak_dbtp(got) <= -1.0 + CEILING_SLACK_DB
    assert result.loudness.true_peak_dbtp == pytest.approx(true_peak_dbtp(got), abs=1e-6)
    assert abs(integrated_lufs(got, sr_hz=48000) - (-14.0)) < 0.5


def test_a_cancelled_export_writes_nothing(tmp_path, footage_dir, music_files):
    from bgmatch.engine.output.export import ExportCancelled

    asked = []

    def cancel() -> bool:
        asked.append(1)
        return len(asked) > 3  # stop a few packets in

    out = tmp_path / "out.mp4"
    with pytest.raises(ExportCancelled, match="cancelled"):
        export(footage_dir / "bikes.mp4", music_files[0], offset_s=0.0, out_path=out, cancel=cancel)
    assert not out.exists() and list(tmp_path.iterdir()) == []
