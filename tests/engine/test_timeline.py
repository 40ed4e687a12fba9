"""Timelines: written by the OpenTimelineIO adapters, read back by OpenTimelineIO, rendered by melt."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import opentimelineio as otio
import pytest
from scipy.signal import correlate

from bgmatch.engine.analysis import media
from bgmatch.engine.errors import BgmatchError, MediaError
from bgmatch.engine.output.export import ExportConfig, soundtrack
from bgmatch.engine.output.fit_render import fit_track
from bgmatch.engine.output.timeline import (FORMAT_NOTES, FORMATS, build_timeline, export_timeline, read_timeline,
                                            source_for, timeline_rate, video_cuts, write_timeline)

RATE = 25.0  # the demo video's frame rate


@pytest.fixture(scope="module")
def choice(demo_music):
    """A real fit: 60 s of Nebula from 50 s, re-cut to the 30 s demo video (real footage cut on
    Nebula's beats), and the video's cuts."""
    video = demo_music[0].parent.parent / "video.mp4"
    track = next(p for p in demo_music if p.name == "nebula.opus")
    plan = fit_track(track, offset_s=50.0, duration_s=media.probe(video).duration_s)
    cuts = video_cuts(video)
    assert len(cuts) >= 5
    return video, track, plan, cuts


def _clips(track: otio.schema.Track):
    return [c for c in track if isinstance(c, otio.schema.Clip)]


def _ranges(track: otio.schema.Track):
    return [(c.source_range.start_time.to_seconds(), c.source_range.duration.to_seconds()) for c in _clips(track)]


def _markers(timeline):
    out = []
    for track in timeline.tracks:
        for c in _clips(track):
            out += [(m.name.lower(), m.marked_range.start_time.to_seconds()) for m in c.markers]
    return sorted(out)


def _music_markers(timeline):
    return sorted((m.name.lower(), m.marked_range.start_time.to_seconds())
                  for c in _clips(_music(timeline)) for m in c.markers)


def _all_found(wanted, got, *, tol_s):
    """Whether every (name, time) in ``wanted`` has one of the same name in ``got`` within ``tol_s``."""
    return all(any(n == m and abs(t - u) <= tol_s + 1e-6 for m, u in got) for n, t in wanted)


def _music(timeline):
    return next(t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Audio)


@pytest.mark.parametrize("ext", list(FORMATS))
def test_every_format_reads_back_with_its_clips_ranges_and_markers(tmp_path, choice, ext):
    video, track, plan, cuts = choice
    assert timeline_rate(media.probe(video).fps) == RATE
    src = source_for(video, track, offset_s=50.0, plan=plan, cut_times_s=cuts)
    written = build_timeline(src)
    path = write_timeline(written, tmp_path / f"fit{ext}")
    assert path.exists() and not list(tmp_path.glob(".*part"))
    back = read_timeline(path, edl_rate=RATE)
    frame = 1 / RATE
    music, music_back = _music(written), _music(back)
    want, got = _ranges(music), _ranges(music_back)
    assert len(got) == len(want) == len(plan.segments) >= 2
    # Every clip's source range comes back, to a frame; an EDL dissolve starts at the join, so
    # there the clip after it starts half a crossfade (a frame) early and the one before ends early.
    for (s0, d0), (s1, d1) in zip(want, got):
        assert abs(s0 - s1) <= frame + 1e-6 and abs(d0 - d1) <= 2 * frame + 1e-6
    assert abs(want[0][0] - 50.0) < 1e-9 and got[0][0] == pytest.approx(50.0)
    # Media references: the real files, absolute (file URL, or a path for Kdenlive).
    for c in _clips(music_back):
        url = c.media_reference.target_url
        assert url in {track.resolve().as_uri(), str(track.resolve())}
    transitions = [c for c in music_back if isinstance(c, otio.schema.Transition)]
    markers = _markers(back)
    written_markers = _markers(written)
    assert len(written_markers) > 20 and ("cut", pytest.approx(cuts[0], abs=0.02)) in written_markers
    if ext in {".otio", ".xml"}:  # everything
        assert len(transitions) == len(plan.segments) - 1
        assert markers == written_markers
        video_back = next(t for t in back.tracks if t.kind == otio.schema.TrackKind.Video)
        assert _ranges(video_back)[0][1] == pytest.approx(src.video_duration_s, abs=frame)
    elif ext == ".fcpxml":  # no dissolves on connected audio clips; the music's markers come back on its clips
        music_back, music_written = _music_markers(back), _music_markers(written)
        assert not transitions and len(music_back) == len(music_written)
        assert _all_found(music_written, music_back, tol_s=frame)  # FCPXML keeps marker times to a frame
        assert _all_found(written_markers, markers, tol_s=frame)  # the reader moves a few by a frame
    elif ext == ".edl":  # the music track alone, its dissolves and its markers (the reader repeats some)
        assert len(back.tracks) == 1 and len(transitions) == len(plan.segments) - 1
        music_markers = sorted(m for m in written_markers if m[0] in {"bar", "beat"})
        assert _all_found(music_markers, markers, tol_s=frame)
    elif ext == ".kdenlive":  # clips and ranges only
        assert not transitions and not markers
    assert FORMAT_NOTES[ext]


@pytest.mark.slow
def test_melt_renders_the_kdenlive_project_as_bgmatch_exports_it(tmp_path, choice):
    melt = shutil.which("melt")
    if melt is None:
        pytest.fail("Debian's melt is missing: apt install melt")
    video, track, plan, cuts = choice
    project = export_timeline(video, track, offset_s=50.0, out_path=tmp_path / "fit.kdenlive", fit=plan,
                              cut_times_s=cuts).path
    duration_s = media.probe(video).duration_s
    frames = int(round(duration_s * RATE))
    rendered = tmp_path / "melt.wav"
    # The adapter's black background track has no length: tell melt where the timeline ends.
    subprocess.run([melt, str(project), f"out={frames - 1}", "-consumer", f"avformat:{rendered}", "vn=1"],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=400)  # melt reads keys from stdin
    sr = 8000
    got = media.decode_audio(rendered, sr_hz=sr)
    ours, _, _ = soundtrack(duration_s, track, offset_s=50.0, fit=plan,
                            config=ExportConfig(sr_hz=sr, target_lufs=None, fade_in_s=0.0))
    ours = ours.mean(axis=0)
    assert abs(len(got) / sr - duration_s) <= 1 / RATE
    n = min(len(got), len(ours))
    xc = correlate(got[:n], ours[:n], mode="full", method="fft")
    lag_s = (int(np.argmax(xc)) - (n - 1)) / sr
    peak = float(xc.max() / (np.linalg.norm(got[:n]) * np.linalg.norm(ours[:n])))
    # Each segment on its own: the timeline puts its source range on 25 fps frames, bgmatch on
    # samples, so a segment's music may sit up to half a frame apart, which the whole-file
    # peak averages over.
    reach = int(0.2 * sr)
    per_segment = []
    for seg, nxt in zip(plan.segments, [*plan.segments[1:], None]):
        a = int((seg.target_start_s + 0.1) * sr) + reach
        b = int(((nxt.target_start_s if nxt else plan.ending_target_s) - 0.1) * sr) - reach
        w = ours[a:b]
        c = correlate(got[a - reach:b + reach], w, mode="valid", method="fft")
        energy = np.sqrt(np.convolve(got[a - reach:b + reach] ** 2, np.ones(len(w)), mode="valid"))
        norm = c / (energy * np.linalg.norm(w) + 1e-12)
        per_segment.append(((int(np.argmax(norm)) - reach) / sr, float(norm.max())))
    print(f"melt vs bgmatch: whole soundtrack cross-correlation peak {peak:.3f} at lag {lag_s * 1000:+.1f} ms; "
          "per segment " + ", ".join(f"{p:.3f} at {lag * 1000:+.1f} ms" for lag, p in per_segment))
    assert abs(lag_s) <= 1 / RATE and peak > 0.5
    for lag, p in per_segment:
        assert abs(lag) <= 1 / RATE and p > 0.9


def test_bad_timeline_paths_get_one_clear_line(tmp_path, choice):
    video, track, plan, cuts = choice
    timeline = build_timeline(source_for(video, track, offset_s=50.0, plan=plan, cut_times_s=cuts))
    with pytest.raises(BgmatchError, match=r"out\.aaf: unknown timeline format '\.aaf'; use one of \.otio"):
        write_timeline(timeline, tmp_path / "out.aaf")
    with pytest.raises(BgmatchError, match="no such folder"):
        write_timeline(timeline, tmp_path / "missing" / "out.otio")
    with pytest.raises(BgmatchError, match="cannot write|not writable"):
        write_timeline(timeline, "/proc/bgmatch-test.otio")  # a folder no one can create files in
    assert not list(tmp_path.rglob("*"))
    with pytest.raises(MediaError, match="runs out .* use --fit"):
        export_timeline(video, track, offset_s=50.0, out_path=tmp_path / "plain.otio", cut_times_s=cuts)
    assert not list(tmp_path.rglob("*"))


def test_a_plain_timeline_trims_the_track_with_beat_markers(tmp_path, choice):
    video, track, _, cuts = choice
    result = export_timeline(video, track, offset_s=12.0, out_path=tmp_path / "plain.xml", cut_times_s=cuts)
    back = read_timeline(result.path)
    ranges = _ranges(_music(back))
    assert len(ranges) == 1 and ranges[0][0] == pytest.approx(12.0)
    assert ranges[0][1] == pytest.approx(media.probe(video).duration_s, abs=1 / RATE)
    names = {m[0] for m in _markers(back)}
    assert {"bar", "beat", "cut"} <= names
