"""BeatCut editor: cut plans follow the beats and the music energy; rendered videos cut where planned."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.analysis.media import decode_audio, decode_frames, probe
from bgmatch.engine.analysis.motion import detect_cuts, flow_magnitudes
from bgmatch.engine.analysis.rhythm import MusicAnalysis, analyze_music
from bgmatch.training.beatcut import (
    EditConfig,
    EditManifest,
    energy_curve,
    energy_levels,
    find_footage,
    plan_cuts,
    render_video,
)

FPS = 25
SMALL = (256, 144)
PHOTOS = frozenset({"astronaut.png", "coffee.png", "hubble_deep_field.jpg", "grass.png"})
FOOTAGE = PHOTOS | {"vtest.avi", "cup.mp4", "bigbuckbunny.mp4"}


def synthetic_analysis(*, bpm: float, duration_s: float, loud_from_s: float | None = None) -> MusicAnalysis:
    """A steady beat grid at ``bpm``; RMS at -36 dBFS, or -12 dBFS from ``loud_from_s`` on."""
    rate = 22050 / 512
    t = np.arange(int(duration_s * rate)) / rate
    rms = np.full(len(t), 10 ** (-36 / 20), np.float32)
    if loud_from_s is not None:
        rms[t >= loud_from_s] = 10 ** (-12 / 20)
    beats = np.arange(0.3, duration_s, 60.0 / bpm)
    return MusicAnalysis(duration_s, rate, np.ones(len(t), np.float32), rms, beats, bpm)


def distance_to_beats(cuts: np.ndarray, beats: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(beats, cuts), 1, len(beats) - 1)
    return np.minimum(np.abs(cuts - beats[idx - 1]), np.abs(beats[idx] - cuts))


@pytest.mark.parametrize("off_beat_share", [0.0, 0.15, 0.4])
def test_cuts_fall_within_jitter_of_beats_except_the_off_beat_share(off_beat_share: float) -> None:
    a = synthetic_analysis(bpm=100, duration_s=900)
    config = EditConfig(seed=3, off_beat_share=off_beat_share, jitter_frames=2)
    cuts = plan_cuts(a, offset_s=0.0, duration_s=900, config=config)
    assert len(cuts) > 250
    assert np.all(np.diff(cuts) >= config.min_shot_s - 1e-9)
    assert np.allclose(cuts * FPS, np.round(cuts * FPS))  # on the frame grid
    d = distance_to_beats(cuts, a.beat_times_s)
    on_beat = d <= (config.jitter_frames + 0.5) / FPS + 1e-9
    assert abs((1 - on_beat.mean()) - off_beat_share) < 0.05
    # Off-beat cuts sit well between beats (25-75 % of the 0.6-s interval, less half a frame).
    assert np.all(d[~on_beat] >= 0.25 * 0.6 - 0.5 / FPS - 1e-9)
    # The jitter is used: on-beat cuts are not all exactly on their beat.
    assert np.mean(d[on_beat] > 0.5 / FPS) > 0.3


def test_without_jitter_or_off_beat_cuts_every_cut_is_on_a_beat() -> None:
    a = synthetic_analysis(bpm=123, duration_s=120)
    cuts = plan_cuts(a, offset_s=10.0, duration_s=60, config=EditConfig(jitter_frames=0, off_beat_share=0.0))
    assert np.all(distance_to_beats(cuts + 10.0, a.beat_times_s) <= 0.5 / FPS + 1e-9)
    assert cuts.min() > 0 and cuts.max() < 60


def test_cut_rate_rises_with_energy() -> None:
    a = synthetic_analysis(bpm=120, duration_s=600, loud_from_s=300)
    levels = energy_levels(a, times_s=np.array([100.0, 500.0]))
    assert levels[0] < 0.3 and levels[1] > 0.7
    cuts = plan_cuts(a, offset_s=0.0, duration_s=600, config=EditConfig(seed=1))
    quiet = np.sum(cuts < 295) / 295
    loud = np.sum(cuts > 305) / 295
    assert loud > 2.0 * quiet
    # Shots are 1-8 beats long (0.5-4 s at 120 BPM), allowing for jitter and off-beat cuts.
    shots = np.diff(cuts)
    assert shots.min() >= 0.4 - 1e-9 and shots.max() <= 8 * 0.5 + 1.0


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    a = synthetic_analysis(bpm=110, duration_s=120, loud_from_s=60)
    one = plan_cuts(a, offset_s=20, duration_s=60, config=EditConfig(seed=5))
    two = plan_cuts(a, offset_s=20, duration_s=60, config=EditConfig(seed=5))
    other = plan_cuts(a, offset_s=20, duration_s=60, config=EditConfig(seed=6))
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, other)


def test_config_is_checked_and_round_trips() -> None:
    for bad in ({"beats_per_cut_choices": (0, 2)}, {"beats_per_cut_choices": (9,)}, {"off_beat_share": 1.0},
                {"size": (641, 360)}, {"jitter_frames": -1}):
        with pytest.raises(ConfigError):
            EditConfig(**bad)
    config = EditConfig(seed=9, size=(320, 180))
    assert EditConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ConfigError, match="unknown"):
        EditConfig.from_dict({"sead": 1})


@pytest.fixture(scope="module")
def real_analysis(demo_music: list[Path]) -> MusicAnalysis:
    """Analysis of the real demo excerpt the demo video was cut to (the one with the clearest beat)."""
    demo = demo_music[0].parent.parent
    track = demo / json.loads((demo / "video.json").read_text())["track"]
    assert track in demo_music
    return analyze_music(decode_audio(track, sr_hz=22050), sr_hz=22050)


def test_plan_on_a_real_track_follows_its_beats(real_analysis: MusicAnalysis) -> None:
    config = EditConfig(seed=2)
    cuts = plan_cuts(real_analysis, offset_s=12.0, duration_s=40.0, config=config)
    assert len(cuts) >= 10
    on_beat = distance_to_beats(cuts + 12.0, real_analysis.beat_times_s) <= 2.5 / FPS + 1e-9
    assert on_beat.mean() >= 0.7


@pytest.fixture(scope="module")
def rendered(real_analysis: MusicAnalysis, media_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """A 7-s video edited on the real track, its plan, config and manifest."""
    config = EditConfig(seed=4, size=SMALL, preset="veryfast", beats_per_cut_choices=(1, 2, 4))
    plan = plan_cuts(real_analysis, offset_s=12.0, duration_s=7.0, config=config)
    footage = find_footage(media_root, names=FOOTAGE)
    curve = energy_curve(real_analysis, offset_s=12.0, duration_s=7.0, fps=FPS)
    out = tmp_path_factory.mktemp("beatcut") / "edit.mp4"
    manifest = render_video(plan, footage, out_path=out, duration_s=7.0, config=config, energy_curve=curve,
                            track="demo.opus", offset_s=12.0)
    return out, plan, config, manifest, footage, curve


def test_rendered_video_is_silent_h264_of_the_requested_length(rendered) -> None:
    out, _, config, manifest, _, _ = rendered
    info = probe(out)
    assert info.has_video and not info.has_audio
    assert (info.width, info.height) == config.size
    assert abs(info.duration_s - 7.0) <= 1.0 / FPS
    frames = decode_frames(out, fps=FPS, width_px=128)
    assert abs(len(frames.frames) - 7.0 * FPS) <= 1
    assert manifest.n_frames == 175


def test_hard_cuts_are_found_at_the_planned_times(rendered) -> None:
    out, plan, _, _, _, _ = rendered
    assert len(plan) >= 3
    frames = decode_frames(out, fps=FPS, width_px=128)
    found = detect_cuts(frames.frames, frames.times_s)
    tol = 1.5 / FPS
    recall = np.mean([np.min(np.abs(found - t)) <= tol for t in plan])
    precision = np.mean([np.min(np.abs(plan - t)) <= tol for t in found])
    assert recall >= 0.9 and precision >= 0.8, (plan, found)


def test_manifest_describes_the_edit(rendered) -> None:
    out, plan, config, manifest, _, _ = rendered
    assert EditManifest.read(out.with_suffix(".json")) == manifest
    assert manifest.track == "demo.opus" and manifest.offset_s == 12.0
    assert manifest.seed == config.seed and manifest.config == config.to_dict()
    np.testing.assert_allclose(manifest.cut_times_s, plan)
    shots = manifest.shots
    assert shots[0]["start_s"] == 0.0 and shots[-1]["end_s"] == 7.0
    assert all(a["end_s"] == b["start_s"] for a, b in zip(shots, shots[1:]))
    assert all(a["source"] != b["source"] for a, b in zip(shots, shots[1:]))
    assert {s["source"] for s in shots} <= FOOTAGE
    lo, hi = config.clip_speed_range
    for s in shots:  # clips are re-timed by the music energy
        if s["kind"] == "clip":
            assert s["speed"] == pytest.approx(lo + (hi - lo) * s["energy"], abs=1e-3)


def test_same_seed_renders_the_same_manifest(rendered, tmp_path: Path) -> None:
    out, plan, config, manifest, footage, curve = rendered
    again = render_video(plan, footage, out_path=tmp_path / "again.mp4", duration_s=7.0, config=config,
                         energy_curve=curve, track="demo.opus", offset_s=12.0)
    assert again == manifest


def test_louder_music_moves_the_virtual_camera_faster(media_root: Path, tmp_path: Path) -> None:
    photos = find_footage(media_root, names=PHOTOS)
    config = EditConfig(seed=8, size=(192, 108), preset="veryfast")
    motion = []
    for level in (0.1, 0.9):
        out = tmp_path / f"pan{level}.mp4"
        manifest = render_video(np.array([1.0, 2.0]), photos, out_path=out, duration_s=3.0, config=config,
                                energy_curve=np.full(75, level))
        frames = decode_frames(out, fps=FPS, width_px=192)
        flow = flow_magnitudes(frames.frames)
        cut_frames = {int(round(t * FPS)) for t in manifest.cut_times_s} | {0}
        motion.append(np.median([f for i, f in enumerate(flow) if i not in cut_frames]))
    assert motion[1] > 2.0 * motion[0], motion


def test_render_needs_two_sources(media_root: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        render_video(np.array([1.0]), find_footage(media_root, names=frozenset({"coffee.png"})),
                     out_path=tmp_path / "x.mp4", duration_s=2.0, config=EditConfig(size=SMALL))


def test_make_demo_builds_tagged_excerpts_a_video_and_licenses(media_root: Path, tmp_path: Path) -> None:
    from bgmatch.training.beatcut import make_demo

    argv = [str(media_root), "--assets", str(tmp_path), "--tracks", "2", "--excerpt-length", "6",
            "--video-offset", "0.5", "--video-length", "3"]
    assert make_demo.main(argv) == 0
    music = sorted((tmp_path / "demo" / "music").glob("*.opus"))
    assert len(music) == 2
    for path in music:
        info = probe(path)
        assert info.audio_rate_hz == 48000 and abs(info.duration_s - 6.0) < 0.05 and info.title
    manifest = EditManifest.read(tmp_path / "demo" / "video.json")
    assert (tmp_path / "demo" / manifest.track) in music and manifest.offset_s == 0.5
    assert abs(probe(tmp_path / "demo" / "video.mp4").duration_s - 3.0) <= 1 / FPS
    licenses = (tmp_path / "LICENSES.md").read_text()
    assert all(f"music/{p.name}" in licenses for p in music)
    assert all(f"`{s['source']}`" in licenses for s in manifest.shots)


def test_committed_demo_assets_are_small_listed_and_consistent(demo_music: list[Path]) -> None:
    demo = demo_music[0].parent.parent
    assert len(demo_music) == 24
    assert sum(p.stat().st_size for p in demo_music) < 25 * 1024 * 1024
    assert (demo / "video.mp4").stat().st_size < 5 * 1024 * 1024
    licenses = (demo.parent / "LICENSES.md").read_text()
    assert "GPL-2.0-or-later" in licenses and "CC BY-SA 3.0" in licenses
    assert all(f"music/{p.name}" in licenses for p in demo_music)
    assert {"wesnoth-1.16-music", "singularity-music"} <= {line.split()[1] for line in licenses.splitlines()
                                                            if line.startswith("### ")}
    manifest = EditManifest.read(demo / "video.json")
    assert (demo / manifest.track) in demo_music and manifest.offset_s > 0
    assert all(probe(p).title for p in demo_music)
