"""The ground-truth beat benchmark: real MIDI (Debian game music, music21's corpus) rendered with fluidsynth."""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import librosa
import mido
import numpy as np
import pretty_midi
import pytest

from bgmatch.training.beats.build import build
from bgmatch.training.beats.evaluate import main as beats_main
from bgmatch.training.beats.evaluate import score_item
from bgmatch.training.beats.grid import SUBDIVISIONS, beat_unit, midi_grid
from bgmatch.training.beats.item import prepare_item
from bgmatch.training.beats.layout import default_src_dir, load_set
from bgmatch.training.beats.plan import CATEGORIES, BuildConfig, candidates
from bgmatch.training.beats.transform import ramp, tempo_map, ticks_to_seconds

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="needs fluidsynth (Debian fluidsynth)")

#: Three 10 s items: a steady 4/4 file, a tempo change (a file's own ritardando), a 6/8 jig.
TINY = BuildConfig(seed=0, per_category=1, max_s=10.0, min_s=8.0)
CATS = ("steady", "tempo_change", "compound")


def _audio_hash(path: Path) -> str:
    import soundfile as sf

    y, _ = sf.read(str(path), dtype="int16")
    return hashlib.sha256(y.tobytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("beats") / "set"
    report = build(root, TINY, categories=CATS)
    assert len(report.items) == 3 and not report.skipped
    return root


def test_tiny_set_has_each_category_with_ground_truth(tiny: Path) -> None:
    items = {i.category: i for i in load_set(tiny)}
    assert set(items) == set(CATS)
    jig = items["compound"]
    assert jig.meta["meter"] in ("6/8", "9/8", "12/8") and jig.meta["source"]["origin"].startswith("music21:")
    assert jig.meta["meters"][0]["beats_per_bar"] == int(jig.meta["meter"].split("/")[0]) // 3
    assert items["tempo_change"].meta["source"]["origin"].startswith("debian:")
    periods = np.diff(items["tempo_change"].beats_s)
    assert periods.max() / periods.min() > 1.02  # the tempo really changes inside the excerpt
    for item in items.values():
        y, sr = item.load()
        assert sr == TINY.sr_hz and 8.0 <= len(y) / sr <= 10.0 + 1e-3
        assert item.beats_s[0] >= 0 and item.beats_s[-1] <= len(y) / sr
        assert item.meta["license"] and item.meta["source"]["piece_id"]
        if item.downbeats_s is not None:  # downbeats are beats, one per bar
            assert np.isin(item.downbeats_s, item.beats_s).all()
            per_bar = item.meta["meters"][0]["beats_per_bar"]
            assert len(item.beats_s) / len(item.downbeats_s) == pytest.approx(per_bar, abs=1.0)


def _salience(env: np.ndarray, times_s: np.ndarray, *, sr_hz: int, hop: int) -> float:
    """Mean of the onset envelope's peak in the 50 ms after each time (the detector's lag)."""
    frames = np.round(np.asarray(times_s) * sr_hz / hop).astype(int)
    frames = frames[frames < len(env)]
    ahead = int(round(0.05 * sr_hz / hop))
    return float(np.mean([env[f: f + ahead + 1].max() for f in frames]))


def test_ground_truth_beats_sit_on_the_rendered_music(tiny: Path) -> None:
    """Onsets of the rendered music (no click) peak on the ground-truth beats: a ground truth a
    quarter beat off fails on every item; half a beat off fails on the 6/8 tune and on the three
    items together (a steady 4/4 track may play its off-beats as loudly as its beats)."""
    on_all, half_all = [], []
    for item in load_set(tiny):
        y, sr = item.load()
        hop = 128
        env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
        b = item.beats_s
        period = np.diff(b)
        on = _salience(env, b[:-1], sr_hz=sr, hop=hop)
        quarter = max(_salience(env, b[:-1] + f * period, sr_hz=sr, hop=hop) for f in (0.25, 0.75))
        half = _salience(env, b[:-1] + period / 2, sr_hz=sr, hop=hop)
        assert on > 1.5 * quarter, item.item_id
        if item.category == "compound":
            assert on > 1.5 * half, item.item_id
        on_all.append(on)
        half_all.append(half)
    assert np.mean(on_all) > 1.5 * np.mean(half_all)


def test_click_on_the_ground_truth_is_heard_on_time(tmp_path: Path) -> None:
    """A wood block on every ground-truth beat (rendered with the piece) is heard within 30 ms:
    the excerpt's crop and fluidsynth's timing keep the ground truth's clock."""
    build(tmp_path / "click", BuildConfig(seed=0, per_category=1, max_s=10.0, min_s=8.0, click=True),
          categories=("compound",))
    (item,) = load_set(tmp_path / "click")
    y, sr = item.load()
    onsets = librosa.onset.onset_detect(y=y, sr=sr, hop_length=128, units="time")
    err = np.array([np.abs(onsets - t).min() for t in item.beats_s])
    assert np.mean(err < 0.03) >= 0.9
    assert np.median(err) < 0.025


def test_same_seed_same_set_and_resume(tiny: Path, tmp_path: Path) -> None:
    first = {i.item_id: (i.beats_s.tolist(), _audio_hash(i.audio_path)) for i in load_set(tiny)}
    again = build(tmp_path / "b", BuildConfig(**{**TINY.__dict__, "limit": 2}), categories=CATS)
    for item in load_set(tmp_path / "b"):
        assert (item.beats_s.tolist(), _audio_hash(item.audio_path)) == first[item.item_id]
    assert again.items == list(first)[:2]
    # resume: a rerun renders nothing; a lost JSON (and a half-written temp file) re-renders that item only
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tiny / "items").iterdir()}
    rerun = build(tiny, TINY, categories=CATS)
    assert rerun.rendered == [] and rerun.skipped == list(first)
    assert {p.name: p.stat().st_mtime_ns for p in (tiny / "items").iterdir()} == mtimes
    lost = list(first)[1]
    (tiny / "items" / f"{lost}.json").unlink()
    (tiny / "items" / f"{lost}.flac.part").write_bytes(b"half")
    rerun = build(tiny, TINY, categories=CATS)
    assert rerun.rendered == [lost]
    item = {i.item_id: i for i in load_set(tiny)}[lost]
    assert (item.beats_s.tolist(), _audio_hash(item.audio_path)) == first[lost]
    other = BuildConfig(**{**TINY.__dict__, "seed": 1})
    with pytest.raises(Exception, match="other settings"):
        build(tiny, other, categories=CATS)


def test_candidates_of_a_category_are_distinct_pieces() -> None:
    """A piece whose own tempo changes is a native tempo-change item, never also a ramped one."""
    for category in CATEGORIES:
        specs = list(itertools.islice(candidates(category, TINY, src_dir=default_src_dir()), 400))
        assert len({s.item_id for s in specs}) == len(specs) == len({s.piece.piece_id for s in specs})
        assert len(specs) >= TINY.per_category


def _residuals_s(onsets_s: np.ndarray, beats_s: np.ndarray) -> np.ndarray:
    """Distance (s) of each onset to the nearest 1/4 or 1/3 subdivision of its ground-truth beat."""
    onsets_s = onsets_s[(onsets_s >= beats_s[0]) & (onsets_s < beats_s[-1])]
    i = np.searchsorted(beats_s, onsets_s, side="right") - 1
    period = beats_s[i + 1] - beats_s[i]
    phase = (onsets_s - beats_s[i]) / period
    return np.abs(phase[:, None] - SUBDIVISIONS[None, :]).min(axis=1) * period


def test_humanised_ground_truth_follows_the_drift_not_the_jitter() -> None:
    """The humanised item's beats speed up and slow down (the drifted tempo map) and its notes sit
    on them up to the jitter (a few ms to 35 ms); the same piece as written sits on them exactly."""
    human = next(candidates("humanised", TINY, src_dir=default_src_dir()))
    prep = prepare_item(human, TINY)
    beats = np.asarray(prep.doc["beats_s"]) + prep.start_s
    periods = np.diff(beats)
    assert 1.01 < periods.max() / periods.min() < 1.2
    onsets = np.array([n.start for inst in prep.pm.instruments for n in inst.notes])
    jittered = _residuals_s(onsets, beats)
    as_written = prepare_item(replace(human, category="steady", variant="as_is", item_id="steady-x"), TINY)
    beats = np.asarray(as_written.doc["beats_s"]) + as_written.start_s
    assert np.ptp(np.diff(beats)) < 0.002  # as written: one tempo
    onsets = np.array([n.start for inst in as_written.pm.instruments for n in inst.notes])
    exact = _residuals_s(onsets, beats)
    assert np.median(exact) < 0.005  # on the grid (up to the file's own one-tick offsets)
    assert np.median(jittered) > np.median(exact) + 0.003
    assert np.percentile(jittered, 95) <= np.percentile(exact, 95) + 0.036


def test_compound_and_simple_meters_and_tempo_map() -> None:
    """6/8 has two dotted-quarter beats per bar, 3/4 three quarters; beats follow tempo changes."""
    assert beat_unit(6, 8, ticks_per_quarter=480) == (2, 720)
    assert beat_unit(12, 8, ticks_per_quarter=480) == (4, 720)
    assert beat_unit(3, 4, ticks_per_quarter=480) == (3, 480)
    assert beat_unit(3, 8, ticks_per_quarter=480) == (3, 240)
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120)
    pm.time_signature_changes = [pretty_midi.TimeSignature(6, 8, 0.0), pretty_midi.TimeSignature(3, 4, 3.0)]
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(velocity=90, pitch=60, start=k * 0.25, end=k * 0.25 + 0.2) for k in range(24)]
    pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    buf.seek(0)
    mid = mido.MidiFile(file=buf)
    grid = midi_grid(mid, end_tick=480 * 12 - 1)
    secs = ticks_to_seconds(tempo_map(mid), grid.beat_ticks, ticks_per_quarter=480)
    # 6/8 at 120 qpm: a dotted quarter every 0.75 s for two bars (3 s), then 3/4: a quarter every 0.5 s
    np.testing.assert_allclose(secs[:5], [0, 0.75, 1.5, 2.25, 3.0])
    np.testing.assert_allclose(secs[4:8], [3.0, 3.5, 4.0, 4.5])
    assert grid.downbeat[:8].tolist() == [True, False, True, False, True, False, False, True]
    faster = ramp(mid, grid.beat_ticks, start_factor=1.0, end_factor=2.0, from_tick=0, to_tick=int(grid.beat_ticks[-1]))
    fast_secs = ticks_to_seconds(tempo_map(faster), grid.beat_ticks, ticks_per_quarter=480)
    assert np.all(np.diff(fast_secs)[-3:] < np.diff(secs)[-3:] * 0.6)
    reread = pretty_midi.PrettyMIDI(io.BytesIO(_saved(faster)))
    np.testing.assert_allclose([reread.tick_to_time(int(t)) for t in grid.beat_ticks[:8]], fast_secs[:8], atol=1e-6)


def _saved(mid: mido.MidiFile) -> bytes:
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def test_metrics_on_hand_made_cases() -> None:
    ref = np.arange(0, 30, 0.5)
    perfect = score_item(ref, ref, ref[::4], ref[::4])
    assert perfect == {"beat_f": 1.0, "cmlt": 1.0, "amlt": 1.0, "downbeat_f": 1.0, "lag_ms": 0.0}
    off = score_item(ref, ref + 0.25, ref[::4], None)  # on the off-beat: wrong, but at the right metrical level
    assert off["beat_f"] == 0.0 and off["cmlt"] == 0.0 and math.isnan(off["downbeat_f"])
    assert off["amlt"] == pytest.approx(1.0, abs=0.03)  # mir_eval loses the last beat at the edge
    double = score_item(ref, np.arange(0, 30, 0.25), ref[::4], ref[2::4])  # double tempo; downbeats a half bar off
    assert double["beat_f"] == pytest.approx(2 / 3, abs=0.01) and double["cmlt"] == 0.0
    assert double["amlt"] == pytest.approx(1.0, abs=0.03)
    assert double["downbeat_f"] == 0.0
    late = score_item(ref, ref + 0.06, None, None)  # inside mir_eval's 70 ms window
    assert late["beat_f"] == 1.0 and math.isnan(late["downbeat_f"]) and late["lag_ms"] == pytest.approx(60.0)
    early = score_item(ref, np.sort(np.r_[ref - 0.03, ref + 0.2]), None, None)  # the lag is from the nearest beat
    assert early["lag_ms"] == pytest.approx(-30.0)
    assert math.isnan(off["lag_ms"])  # no beat found within the window


def test_tracker_answers_as_pair_or_object() -> None:
    from types import SimpleNamespace

    from bgmatch.training.beats.evaluate import _as_pair

    beats, downs = _as_pair(SimpleNamespace(beat_times_s=[1.0, 0.5], downbeat_times_s=[0.5]), "t")
    assert beats.tolist() == [0.5, 1.0] and downs.tolist() == [0.5]
    assert _as_pair(([0.5], None), "t")[1] is None
    with pytest.raises(Exception, match="must return"):
        _as_pair([0.5, 1.0], "t")


def test_cli_writes_table_and_json(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bgmatch.training.evaluate import main as eval_main

    out = tmp_path / "beats.json"
    custom = "bgmatch.training.beats.evaluate:librosa_tracker"
    assert eval_main(["beats", "--out", str(tiny), "--limit", "2", "--tracker", "librosa", "--tracker", custom,
                      "--json", str(out), "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "| tracker | category | n | beat F | CMLt | AMLt | downbeat F | lag ms |" in table
    doc = json.loads(out.read_text())
    assert doc["n_items"] == 2 and set(doc["trackers"]) == {"librosa", custom}
    for name, res in doc["trackers"].items():
        assert set(res["per_item"]) == set(list(doc["categories"])[:2])
        assert res["table"]["all"]["n"] == 2 and 0.0 <= res["table"]["all"]["beat_f"] <= 1.0
        assert res["table"]["all"]["downbeat_f"] is None  # librosa gives no downbeats
        assert f"| {name} | all | 2 | {res['table']['all']['beat_f']:.3f} |" in table
    # the same tracker twice scores the same
    assert doc["trackers"]["librosa"]["per_item"] == doc["trackers"][custom]["per_item"]


def test_cli_help_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        beats_main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in ("--out", "--build", "--limit", "--tracker", "--json", "--per-category", "--seed", "--max-s"):
        assert option in text
    assert beats_main(["--out", str(tmp_path / "none"), "--quiet"]) == 1
    assert "no beat benchmark here" in capsys.readouterr().err
    assert beats_main(["--out", str(tmp_path), "--tracker", "nosuch", "--quiet"]) == 1
    assert "tracker 'nosuch'" in capsys.readouterr().err


def test_debian_sources_unpack_into_a_fresh_folder(tmp_path: Path) -> None:
    # dpkg -x makes its target folder but not the parents: a fresh cache once failed here
    from bgmatch.training.beats.sources import fetch_debian

    debs = tmp_path / "debs"
    debs.mkdir()
    for deb in (default_src_dir() / "debs").glob("openttd-openmsx_*.deb"):  # no download when cached
        shutil.copy(deb, debs)
    folder = fetch_debian(tmp_path, ["openttd-openmsx"])["openttd-openmsx"]
    assert folder == tmp_path / "x" / "openttd-openmsx" and next(folder.rglob("*.mid"), None) is not None
    (tmp_path / "x" / "openttd-openmsx").rename(tmp_path / "unpacked")
    broken = next(debs.glob("openttd-openmsx_*.deb"))
    broken.write_bytes(broken.read_bytes()[:1000])
    from bgmatch.engine.errors import ConfigError

    with pytest.raises(ConfigError, match="dpkg -x failed.*delete the file"):
        fetch_debian(tmp_path, ["openttd-openmsx"])
