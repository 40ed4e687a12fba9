"""Training the beat tracker: a training set apart from the benchmark, augmentation, fine-tuning, agreement."""
from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import librosa
import numpy as np
import pytest
import torch

from bgmatch.engine.analysis import beatnet
from bgmatch.engine.errors import ConfigError
from bgmatch.training.beats.agreement import agreement, format_summary, load_reference
from bgmatch.training.beats.augment import augment_audio
from bgmatch.training.beats.build import build
from bgmatch.training.beats.evaluate import score_item
from bgmatch.training.beats.layout import default_src_dir, load_set
from bgmatch.training.beats.realval import rendered_validation, score_clips
from bgmatch.training.beats.plan import BuildConfig
from bgmatch.training.beats.train import (
    BEAT,
    DOWNBEAT,
    NONE,
    FitConfig,
    _Items,
    _selection_score,
    fit,
    frame_loss,
    frame_targets,
    make_batch,
    main,
    weights_tracker,
)
from bgmatch.training.beats import trainset
from bgmatch.training.beats.render import find_soundfont
from bgmatch.training.beats.trainset import TrainSetConfig, build_trainset, excluded

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="needs fluidsynth (Debian fluidsynth)")

BENCH = BuildConfig(seed=0, per_category=1, max_s=10.0, min_s=8.0)
TRAIN = TrainSetConfig(seed=3, n_items=4, max_s=10.0, min_s=8.0)


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("beattrain")
    bench = base / "bench"
    build(bench, BENCH, categories=("steady", "compound"))
    train = base / "train"
    ids = build_trainset(train, TRAIN, src_dir=default_src_dir(), bench_root=bench)
    assert len(ids) >= 3
    return bench, train


def test_training_set_is_apart_from_the_benchmark(sets: tuple[Path, Path]) -> None:
    bench, train = sets
    bench_ids, bench_titles = excluded(bench)
    assert len(bench_ids) == 2
    items = load_set(train)
    for item in items:
        assert item.meta["source"]["piece_id"] not in bench_ids
        assert item.meta["split"] in ("train", "val")
        aug = item.meta["augment"]
        assert 0.75 <= aug["tempo_factor"] <= 1.33 and abs(aug["transpose"]) <= 5
    origins = {i.meta["source"]["origin"].split(":")[0] for i in items}
    assert origins == {"debian", "music21"}  # the pools are interleaved


def test_tempo_scaled_ground_truth_is_heard_on_time(sets: tuple[Path, Path], tmp_path: Path) -> None:
    """A wood block on every ground-truth beat, rendered with the piece and then tempo-scaled,
    transposed and cropped with it, is heard within 30 ms of the item's (scaled) beats."""
    config = TrainSetConfig(seed=3, n_items=2, max_s=10.0, min_s=8.0, click=True)
    build_trainset(tmp_path / "click", config, src_dir=default_src_dir(), bench_root=sets[0])
    items = load_set(tmp_path / "click")
    assert any(abs(i.meta["augment"]["tempo_factor"] - 1) > 0.05 for i in items)
    for item in items:
        y, sr = item.load()
        onsets = librosa.onset.onset_detect(y=y, sr=sr, hop_length=128, units="time")
        err = np.array([np.abs(onsets - t).min() for t in item.beats_s])
        assert np.mean(err < 0.03) >= 0.9, item.item_id
        assert np.median(err) < 0.025, item.item_id
        period = np.median(np.diff(item.beats_s))
        assert abs(60 / period - item.meta["tempo_bpm"]) / item.meta["tempo_bpm"] < 0.1


def test_resume_and_settings_are_fixed(sets: tuple[Path, Path]) -> None:
    bench, train = sets
    before = json.loads((train / "build.json").read_text())["items"]
    again = build_trainset(train, TRAIN, src_dir=default_src_dir(), bench_root=bench)
    assert again == before
    with pytest.raises(ConfigError, match="other settings"):
        build_trainset(train, TrainSetConfig(seed=4, n_items=4, max_s=10.0, min_s=8.0),
                       src_dir=default_src_dir(), bench_root=bench)


def test_a_set_keeps_its_soundfonts(sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A set resumed where other soundfonts are found is refused: the drawn timbres would mix."""
    bench, train = sets
    recorded = json.loads((train / "build.json").read_text())["soundfonts"]
    assert recorded and recorded[0] == find_soundfont().name
    monkeypatch.setattr(trainset, "soundfonts", lambda: [find_soundfont(), train / "Other.sf2"])
    with pytest.raises(ConfigError, match="soundfonts"):
        build_trainset(train, TRAIN, src_dir=default_src_dir(), bench_root=bench)


def test_frame_targets_widen_and_mark_unknown_meters() -> None:
    cls, w, either = frame_targets(np.array([0.1, 0.6, 1.1]), np.array([0.1]), n_frames=60, start_s=0.0,
                                   neighbour_weight=0.5)
    assert cls[5] == DOWNBEAT and cls[30] == BEAT and cls[55] == BEAT
    assert cls[4] == DOWNBEAT and w[4] == 0.5 and w[5] == 1.0 and cls[10] == NONE and w[10] == 1.0
    assert not either.any()
    cls, _, either = frame_targets(np.array([0.6]), None, n_frames=60, start_s=0.5, neighbour_weight=0.5)
    assert cls[5] == BEAT and either[5] and either.sum() == 3
    _, heavy, _ = frame_targets(np.array([0.1, 0.6, 1.1]), np.array([0.1]), n_frames=60, start_s=0.0,
                                neighbour_weight=0.5, downbeat_weight=3.0)
    assert heavy[5] == 3.0 and heavy[4] == 1.5 and heavy[30] == 1.0 and heavy[10] == 1.0


def test_augmentation_keeps_length_and_changes_the_sound(sets: tuple[Path, Path]) -> None:
    y, sr = load_set(sets[1])[0].load()
    rng = np.random.default_rng(0)
    outs = [augment_audio(y, sr_hz=sr, rng=rng) for _ in range(4)]
    for out in outs:
        assert out.shape == y.shape and out.dtype == np.float32 and 0.09 < np.abs(out).max() <= 1.0
    assert not np.allclose(outs[0], outs[1])


def test_few_steps_on_one_batch_lower_the_loss(sets: tuple[Path, Path]) -> None:
    """The loss and targets drive the real network: fitting one batch lowers its loss."""
    torch.manual_seed(0)
    data = _Items(load_set(sets[1]))
    config = FitConfig(batch=4, seq_s=4.0)
    x, c, w, e = make_batch(data, np.arange(4) % len(data.items), config, np.random.default_rng(0))
    assert x.shape == (4, 200, 272) and (c != NONE).any()
    model = beatnet.BeatNetCRNN()
    model.load_state_dict(beatnet.load_beatnet().state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = float(frame_loss(model(x), c, w, e).detach())
    for _ in range(8):
        loss = frame_loss(model(x), c, w, e)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(frame_loss(model(x), c, w, e).detach()) < 0.9 * first


def test_fit_exports_engine_weights_and_resumes(sets: tuple[Path, Path], tmp_path: Path) -> None:
    train = sets[1]
    items = sorted((train / "items").glob("*.json"))
    doc = json.loads(items[0].read_text())
    doc["split"] = "val"  # a tiny set may hash no piece to the validation split
    items[0].write_text(json.dumps(doc))
    for other in items[1:]:
        d = json.loads(other.read_text())
        d["split"] = "train"
        other.write_text(json.dumps(d))
    config = FitConfig(epochs=1, batch=2, seq_s=4.0, excerpts_per_item=2.0, threads=1)
    run = tmp_path / "run"
    result = fit(train, run, config)
    assert [h["epoch"] for h in result["history"]] == [0, 1]
    assert 0.0 <= result["history"][1]["val"]["beat_f"] <= 1.0
    model = beatnet.load_beatnet(run / "best.pt")  # the engine reads it (weights_only)
    last = torch.load(run / "last.pt", weights_only=True)
    shipped = beatnet.load_beatnet().state_dict()
    assert any(not torch.equal(last["model"][k], shipped[k]) for k in shipped)  # it did train
    again = fit(train, run, config)  # nothing left to do: resumed after epoch 1
    assert again["history"] == result["history"]
    longer = fit(train, run, dataclasses.replace(config, epochs=2))  # a run may grow
    assert [h["epoch"] for h in longer["history"]] == [0, 1, 2] and longer["history"][:2] == result["history"]
    whole = fit(train, tmp_path / "whole", dataclasses.replace(config, epochs=2))  # as if asked for at the start
    assert [(h["val"], h["loss"]) for h in whole["history"]] == [(h["val"], h["loss"]) for h in longer["history"]]
    with pytest.raises(ConfigError, match="other settings"):
        fit(train, run, dataclasses.replace(config, epochs=3, lr=1e-5))
    state = torch.load(run / "last.pt", weights_only=True)  # a run saved before downbeat_weight existed
    del state["config"]["downbeat_weight"]
    torch.save(state, run / "last.pt")
    assert fit(train, run, dataclasses.replace(config, epochs=2))["history"] == longer["history"]  # resumes as one
    with pytest.raises(ConfigError, match="other settings"):
        fit(train, run, dataclasses.replace(config, epochs=2, downbeat_weight=3.0))
    state = torch.load(run / "last.pt", weights_only=True)  # a run whose epochs were scored without the bar phase
    del state["val_scoring"]
    torch.save(state, run / "last.pt")
    with pytest.raises(ConfigError, match="without the bar phase"):
        fit(train, run, dataclasses.replace(config, epochs=3))
    item = load_set(train)[0]
    y, sr = item.load()
    track = weights_tracker(run / "best.pt")(y, sr_hz=sr)
    assert len(track.beat_times_s) > 4 and model.training is False


def _with_one_val_item(train: Path, tmp_path: Path) -> Path:
    """A copy of the tiny training set with its first item held out (a tiny set may hash none there)."""
    copy = tmp_path / "train"
    shutil.copytree(train, copy)
    for k, path in enumerate(sorted((copy / "items").glob("*.json"))):
        doc = json.loads(path.read_text())
        doc["split"] = "val" if k == 0 else "train"
        path.write_text(json.dumps(doc))
    return copy


def test_fit_keeps_the_epoch_best_on_real_recordings(sets: tuple[Path, Path], tmp_path: Path) -> None:
    """--real-ref: each epoch is scored against a reference of recordings and that picks best.pt. The
    reference here is the shipped tracker's own grid of the benchmark's audio (read through the real
    decoder), so the starting weights (epoch 0) agree with it exactly and must be kept."""
    from bgmatch.engine.analysis.beats import track_beats
    from bgmatch.engine.analysis.media import decode_audio

    train = _with_one_val_item(sets[1], tmp_path)
    ref = {}
    for item in load_set(sets[0]):
        shipped = track_beats(decode_audio(item.audio_path, sr_hz=22050, max_duration_s=60.0), sr_hz=22050)
        ref[str(item.audio_path.relative_to(sets[0]))] = {"beats": shipped.beat_times_s.tolist(),
                                                          "downbeats": shipped.downbeat_times_s.tolist()}
    (tmp_path / "real.json").write_text(json.dumps(ref))
    config = FitConfig(epochs=2, batch=2, seq_s=4.0, excerpts_per_item=2.0, threads=1, lr=1e-3)
    run = tmp_path / "run"
    history = fit(train, run, config, real_ref=tmp_path / "real.json", real_folder=sets[0])["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2]
    assert all(h["real"]["n"] == len(ref) for h in history)
    assert history[0]["real"]["beat_f"] == 1.0 == history[0]["real"]["downbeat_f"]
    kept = torch.load(run / "best.pt", weights_only=True)["extra"]
    assert kept["epoch"] == 0 and kept["real"] == history[0]["real"]
    with pytest.raises(ConfigError, match="chosen on"):  # a run keeps what it chooses on
        fit(train, run, dataclasses.replace(config, epochs=3))
    with pytest.raises(ConfigError, match="go together"):
        fit(train, tmp_path / "other", config, real_ref=tmp_path / "real.json")
    (tmp_path / "none.json").write_text(json.dumps({"missing.flac": {"beats": [5.0, 6.0, 7.0], "downbeats": None}}))
    with pytest.raises(ConfigError, match="no file of the reference could be read"):
        fit(train, tmp_path / "other", config, real_ref=tmp_path / "none.json", real_folder=sets[0])


def test_rendered_validation_scores_the_tracker_the_engine_ships(tmp_path: Path) -> None:
    """An epoch's score on held-out pieces is the engine's whole path, bar phase included: with the
    shipped tracker's own grid of two real tracks as their truth, the shipped weights score 1.0 on
    beats and downbeats; the same truth with the decoder's own bar phase scores lower downbeats (the
    bar phase moves them on both tracks)."""
    import soundfile as sf

    from bgmatch.engine.analysis.bar_phase import BarPhaseConfig
    from bgmatch.engine.analysis.media import decode_audio
    from bgmatch.engine.analysis.neural_grid import neural_track
    from bgmatch.training.beats.layout import BeatItem

    demo = Path(__file__).resolve().parents[2] / "assets" / "demo" / "music"
    shipped, decoder = [], []
    for name in ("battle", "nebula"):
        y = decode_audio(demo / f"{name}.opus", sr_hz=22050, max_duration_s=20.0)
        sf.write(tmp_path / f"{name}.flac", y, 22050)
        for phase, out in ((BarPhaseConfig(), shipped), (BarPhaseConfig(0.0, 0.0, 0.0), decoder)):
            track = neural_track(y, sr_hz=22050, bar_phase=phase)
            out.append(BeatItem(name, "real", tmp_path / f"{name}.flac", track.beat_times_s, track.downbeat_times_s, {}))
    model = beatnet.load_beatnet()
    assert score_clips(model, rendered_validation(shipped)) == {"beat_f": 1.0, "downbeat_f": 1.0, "n": 2}
    assert score_clips(model, rendered_validation(decoder))["downbeat_f"] < 1.0


def test_the_real_score_picks_the_epoch_where_a_run_has_one() -> None:
    rendered_better = {"val": {"beat_f": 0.9, "downbeat_f": 0.9}, "real": {"beat_f": 0.1, "downbeat_f": math.nan}}
    real_better = {"val": {"beat_f": 0.1, "downbeat_f": 0.1}, "real": {"beat_f": 0.5, "downbeat_f": 0.5}}
    assert _selection_score(real_better) > _selection_score(rendered_better)
    assert _selection_score({"val": rendered_better["val"]}) > _selection_score({"val": real_better["val"]})


def test_agreement_with_a_reference(sets: tuple[Path, Path]) -> None:
    """Against a tiny benchmark's ground truth as the 'reference': exact beats agree, shifted ones do not."""
    items = load_set(sets[0])
    ref = {it.item_id: it.beats_s for it in items}
    by_id = {it.item_id: it for it in items}
    current: dict[str, str] = {}

    def load(path: Path, seconds: float) -> tuple[np.ndarray, int]:
        current["id"] = path.name
        return by_id[path.name].load()

    def truth(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, None]:
        return ref[current["id"]], None

    def shifted(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, None]:
        beats, _ = truth(y, sr_hz=sr_hz)
        return beats + 0.5 * np.median(np.diff(beats)), None

    result = agreement(ref, Path("/nowhere"), [("truth", truth), ("shifted", shifted)], load=load)
    assert result["n"] == 2
    assert result["summary"]["truth"]["beat_f"]["median"] == 1.0
    assert result["summary"]["shifted"]["beat_f"]["median"] < 0.2
    assert score_item(items[0].beats_s, items[0].beats_s, None, None)["beat_f"] == 1.0


def test_agreement_scores_downbeats_where_the_reference_has_them(sets: tuple[Path, Path], tmp_path: Path) -> None:
    """A reference in madmom_reference's --downbeats form, read back from JSON: downbeat F is scored
    for trackers that give downbeats and left out (NaN, "–") for one that does not."""
    items = [it for it in load_set(sets[0]) if it.downbeats_s is not None]
    assert items
    doc = {it.item_id: {"beats": it.beats_s.tolist(), "downbeats": it.downbeats_s.tolist()} for it in items}
    (tmp_path / "ref.json").write_text(json.dumps(doc))
    ref = load_reference(tmp_path / "ref.json")
    by_id = {it.item_id: it for it in items}
    current: dict[str, str] = {}

    def load(path: Path, seconds: float) -> tuple[np.ndarray, int]:
        current["id"] = path.name
        return by_id[path.name].load()

    def truth(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
        return ref[current["id"]]

    def every_beat(y: np.ndarray, *, sr_hz: int) -> tuple[np.ndarray, np.ndarray]:
        return ref[current["id"]][0], ref[current["id"]][0]

    result = agreement(ref, Path("/nowhere"), [("truth", truth), ("every beat", every_beat),
                                               ("beats only", lambda y, *, sr_hz: (ref[current["id"]][0], None))],
                       load=load)
    summary = result["summary"]
    assert summary["truth"]["downbeat_f"]["median"] == 1.0 == summary["every beat"]["beat_f"]["median"]
    assert summary["every beat"]["downbeat_f"]["median"] < 0.8  # a downbeat on every beat of 2-, 3-, 4-beat bars
    assert math.isnan(summary["beats only"]["downbeat_f"]["median"])
    table = format_summary(result)
    assert "median downbeat F" in table
    assert f"| beats only | {len(items)} | 1.000 | 1.000 | 1.000 | 1.000 | – | – |" in table


def test_agreement_skips_a_file_it_cannot_decode(sets: tuple[Path, Path], tmp_path: Path) -> None:
    """The real decoder on a corrupt file: one line naming it, the other files still scored."""
    item = load_set(sets[0])[0]
    shutil.copy(item.audio_path, tmp_path / "good.flac")
    (tmp_path / "bad.ogg").write_bytes(b"OggS" + bytes(200))
    ref = {"good.flac": item.beats_s, "bad.ogg": item.beats_s}
    lines: list[str] = []
    result = agreement(ref, tmp_path, [("truth", lambda y, *, sr_hz: (item.beats_s, None))], warn=lines.append)
    assert result["n"] == 1 and list(result["skipped"]) == ["bad.ogg"]
    assert len(lines) == 1 and "bad.ogg" in lines[0]
    assert "1 file(s) skipped (not decodable): bad.ogg" in format_summary(result)


def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "--data", str(tmp_path), "--run", str(tmp_path / "r")]) == 1
    assert "no beat benchmark here" in capsys.readouterr().err
    assert main(["fit", "--data", str(tmp_path), "--run", str(tmp_path / "r2"), "--downbeat-weight", "0"]) == 1
    assert "--downbeat-weight must be above 0, not 0.0" in capsys.readouterr().err
    assert not (tmp_path / "r2").exists()
    bad = tmp_path / "ref.json"
    bad.write_text("[1, 2")
    assert main(["agree", str(bad), str(tmp_path)]) == 1
    assert "not a beat reference file" in capsys.readouterr().err
