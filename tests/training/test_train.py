"""Training on real prepared data: it learns, resumes exactly, runs under DDP, and the CLI works."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from bgmatch.engine.learned.bundle import ModelBundle
from bgmatch.training.cli import main
from bgmatch.training.config import parse_config
from bgmatch.training.metrics_log import MetricsLog
from bgmatch.training.pipeline import train

from .conftest import tiny_config

REPO = Path(__file__).resolve().parents[2]


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def model_files(out_dir: Path) -> list[Path]:
    return [out_dir / "pretrain" / "music.pt", out_dir / "pretrain" / "video.pt", out_dir / "match" / "matching.pt"]


def test_training_lowers_the_loss_and_raises_recall_on_train_pairs(reference_run):
    data, result, events = reference_run
    assert result.stages_done == ["prepare", "pretrain", "match", "eval"]
    log = MetricsLog(data["run"]["out_dir"])
    pretrain = [r["loss"] for r in log.rows("pretrain") if "loss" in r]
    match = [r["loss"] for r in log.rows("match") if "loss" in r]
    assert pretrain[-1] < 0.85 * pretrain[0]
    assert match[-1] < 0.6 * match[0]
    recall = [(r["step"], r["train_recall@1"]) for r in log.rows("match") if "train_recall@1" in r]
    assert recall[0][0] == 0 and recall[-1][0] == 120
    assert recall[-1][1] >= recall[0][1] + 0.3, recall
    assert recall[-1][1] >= 0.6
    stages = {e["stage"] for e in events}
    assert {"pretrain", "match", "eval", "fusion"} <= stages
    assert any("val_recall@10" in e for e in events if e["stage"] == "match")
    assert set(result.evaluation) == {"valid", "fusion"} and result.evaluation["valid"]["gallery_size"] == 2
    bundle = ModelBundle.load(result.bundle_dir, device="cpu")
    # The fusion weight was chosen on the valid pairs (the edited videos' own soundtracks) and recorded.
    assert bundle.score_config.fusion_weight == result.evaluation["fusion"]["weight"]
    assert (Path(data["run"]["out_dir"]) / "fusion-library" / "store.lmdb").is_dir()
    assert bundle.extra["target_kind"] == "pseudo" and len(bundle.extra["targets"]) == 27


def test_resume_after_cancel_and_crash_reaches_the_same_state(reference_run, tmp_path):
    data, reference, _ = reference_run
    config = parse_config({**data, "run": {**data["run"], "out_dir": str(tmp_path / "run")}})
    cancel = threading.Event()

    def cancel_in_pretraining(event):
        if event["stage"] == "pretrain" and event["step"] >= 6:
            cancel.set()

    first = train(config, cancel_in_pretraining, cancel, show_bar=False)
    assert first.cancelled and (tmp_path / "run" / "state" / "pretrain.pt").exists()
    assert not (tmp_path / "run" / "pretrain" / "music.pt").exists()

    def crash_in_matching(event):
        if event["stage"] == "match" and event["step"] >= 50:  # the last checkpoint was at step 40
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        train(config, crash_in_matching, show_bar=False)
    resumed = train(config, show_bar=False)
    assert not resumed.cancelled and resumed.stages_done[-2:] == ["match", "eval"]
    for ours, theirs in zip(model_files(tmp_path / "run"), model_files(Path(data["run"]["out_dir"]))):
        a, b = weights(ours), weights(theirs)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), ours.name
    steps = [r["step"] for r in MetricsLog(tmp_path / "run").rows("match") if "loss" in r]
    assert steps == sorted(set(steps))  # the replayed steps were not logged twice
    assert resumed.evaluation == reference.evaluation


def test_ddp_with_two_processes_matches_one_process(edits_root, prepared_dir, tmp_path):
    short = {"pretrain": {"steps": 4, "batch_size": 8, "log_every": 1, "checkpoint_every": 0},
             "match": {"steps": 10, "batch_size": 6, "log_every": 1, "checkpoint_every": 0, "valid_every": 0}}
    single = tiny_config(tmp_path / "single", root=edits_root, prepared_dir=prepared_dir, **short)
    train(parse_config(single), stages=("pretrain", "match"), show_bar=False)
    toml = tmp_path / "ddp.toml"
    toml.write_text(_to_toml(tiny_config(tmp_path / "ddp", root=edits_root, prepared_dir=prepared_dir, **short)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
               str(29500 + os.getpid() % 1000), "-m", "bgmatch.training.cli", str(toml), "--quiet",
               "--stages", "pretrain,match"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    # Every step's loss (averaged over the processes) is the single process's, up to float rounding.
    for stage in ("pretrain", "match"):
        ours = [r["loss"] for r in MetricsLog(tmp_path / "ddp").rows(stage)]
        theirs = [r["loss"] for r in MetricsLog(tmp_path / "single").rows(stage)]
        assert len(ours) == len(theirs) == short[stage]["steps"]
        assert ours == pytest.approx(theirs, rel=1e-5)
    # Weights agree too; Adam moves weights whose gradient is ~0 by ±lr on rounding noise alone,
    # so the matching model (10 steps, lr 1e-3) is compared within a fraction of 10·lr.
    for (ours, theirs), atol in zip(zip(model_files(tmp_path / "ddp"), model_files(tmp_path / "single")),
                                    (1e-4, 1e-4, 5e-3)):
        a, b = weights(ours), weights(theirs)
        for key in a:
            torch.testing.assert_close(a[key], b[key], atol=atol, rtol=1e-3, msg=f"{ours.name}: {key}")


def test_cli_end_to_end(edits_root, prepared_dir, tmp_path, capsys):
    toml = tmp_path / "cli.toml"
    toml.write_text(_to_toml(tiny_config(tmp_path / "run", root=edits_root, prepared_dir=prepared_dir)))
    assert main(["prepare", str(toml), "--quiet"]) == 0
    quick = ["--set", "pretrain.steps=2", "--set", "match.steps=5", "--set", "match.valid_every=0"]
    assert main([str(toml), "--quiet", *quick]) == 0
    out = capsys.readouterr().out
    assert "model bundle:" in out and "valid: {" in out
    bundle = ModelBundle.load(tmp_path / "run" / "model", device="cpu")
    assert bundle.matching.config.dim == 32
    assert main([str(toml), "--quiet", "--set", "match.steps=six"]) == 1
    assert "--set 'match.steps=six'" in capsys.readouterr().err
    assert main([str(toml), "--quiet", "--set", "match.batch_size=0"]) == 1
    assert "[match] batch_size must be >= 1" in capsys.readouterr().err
    assert main([str(toml), "--quiet", *quick, "--set", "match.lr=0.01"]) == 1  # resuming with another config
    assert "different config" in capsys.readouterr().err


def _to_toml(data: dict, prefix: str = "") -> str:
    """A minimal TOML writer for the test configs (tables of scalars, lists and sub-tables)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines, tables = [], []
    for key, v in data.items():
        (tables if isinstance(v, dict) else lines).append((key, v))
    out = "".join(f"{k} = {value(v)}\n" for k, v in lines)
    for key, v in tables:
        name = f"{prefix}.{key}" if prefix else key
        out += f"\n[{name}]\n" + _to_toml(v, name)
    return out


def test_run_training_typed_entry_for_the_app(edits_root, prepared_dir, tmp_path, capsys):
    from bgmatch.training.api import editor_config, run_training

    metrics, steps = [], []
    config = parse_config(tiny_config(tmp_path / "gui", root=edits_root, prepared_dir=prepared_dir,
                                      pretrain={"steps": 2}, match={"steps": 0, "epochs": 4, "valid_every": 500,
                                                                    "log_every": 50, "batch_size": 3}))
    result = run_training(config, progress=lambda *a: steps.append(a), on_metrics=metrics.append,
                          cancel=threading.Event().is_set)
    assert result.bundle_dir == tmp_path / "gui" / "model" and not result.cancelled
    # progress is the engine protocol: (done, total, message), integers
    assert all(isinstance(d, int) and isinstance(t, int) and isinstance(m, str) for d, t, m in steps)
    assert (8, 8, "match step 8/8") in steps  # 6 pairs, 3 a batch: 2 steps an epoch
    match = [m for m in metrics if m.stage == "match" and m.losses]
    assert match[-1].step == match[-1].total == 4 * 2
    logged = MetricsLog(tmp_path / "gui").rows("match")[-1]
    assert match[-1].recalls[10] == logged["val_recall@10"]  # recalls are the validation split's
    # Counted in epochs, the run logs and validates once an epoch (not once, at the end).
    assert [m.step for m in match if m.recalls] == [2, 4, 6, 8]
    assert {2, 4, 6, 8} <= {m.step for m in match if "train" in m.losses}
    assert any(m.model_path == str(result.bundle_dir) for m in metrics)
    assert "it/s" not in capsys.readouterr().err  # no terminal progress bar: the caller shows progress
    config = editor_config(folder=edits_root / "videos", out_dir=tmp_path / "out", tags_csv=None, epochs=3,
                           batch_size=16, learning_rate=0.001, valid_fraction=0.2, seed=7, device="CPU")
    assert (config.data.format, config.data.valid_fraction, config.data.test_fraction) == ("folder", 0.2, 0.0)
    assert (config.match.epochs, config.match.batch_size, config.match.lr) == (3, 16, 0.001)
    assert (config.run.seed, config.run.device, config.model.name) == (7, "cpu", "small")
    assert config.out_dir == tmp_path / "out"


def test_ablations_share_the_prepared_data_and_the_pretrained_encoders(edits_root, prepared_dir, tmp_path):
    from bgmatch.training.ablations import main as ablations_main

    toml = tmp_path / "tiny.toml"
    toml.write_text(_to_toml(tiny_config(tmp_path / "unused", root=edits_root, prepared_dir=prepared_dir,
                                         pretrain={"steps": 3}, match={"steps": 6, "valid_every": 0})))
    out = tmp_path / "ablations"
    assert ablations_main([str(toml), "--out-dir", str(out), "--only", "no-rhythm,ours,no-pretraining"]) == 0
    ours = ModelBundle.load(out / "ours" / "model", device="cpu")
    no_rhythm = ModelBundle.load(out / "no-rhythm" / "model", device="cpu")
    assert ours.matching.config.use_rhythm_tokens and not no_rhythm.matching.config.use_rhythm_tokens
    # no-rhythm pretrains like ours: it starts from the same encoders (copied, not trained again).
    for name in ("music.pt", "video.pt"):
        assert (out / "no-rhythm" / "pretrain" / name).read_bytes() == (out / "ours" / "pretrain" / name).read_bytes()
    assert not (out / "no-rhythm" / "state" / "pretrain.pt").exists()
    assert (out / "no-pretraining" / "model" / "bundle.json").exists()
    assert sorted(p.name for p in out.iterdir()) == ["no-pretraining", "no-pretraining.log", "no-rhythm", "no-rhythm.log",
                                                      "ours", "ours.log", "prepared"]
    assert ablations_main([str(toml), "--out-dir", str(out), "--only", "nope"]) == 1
