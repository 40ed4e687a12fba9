"""Training ▸ Retrain: the missing-package message, and the dialog driving a training function."""
from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from bgmatch.app import jobs


def fake_training(steps: int = 30, *, wait_for_cancel: bool = False, bundle: Path | None = None):
    """A stand-in for ``bgmatch.training.api.run_training`` with its signature and event types
    (its "trained" model is a copy of ``bundle``)."""
    from bgmatch.training.api import TrainingMetrics, TrainResult

    seen: dict = {}

    def run_training(config, *, progress=None, on_metrics=None, cancel=None):
        seen["config"] = config
        seen["thread"] = threading.current_thread().name
        on_metrics(TrainingMetrics("prepare", 0, 0, message="3 videos prepared"))
        for step in range(1, 4):
            progress(step, 3, f"pretrain step {step}/3")
            on_metrics(TrainingMetrics("pretrain", step, 3, {"train": 5.0 / step}))
        for step in range(1, steps + 1):
            progress(step, steps, f"match step {step}/{steps}")
            losses, recalls = {"train": 2.0 / step, "loss_triplet": 0.1}, {}
            if step % 10 == 0:
                losses["validation"] = 1.5 / step
                recalls = {1: 0.01 * step, 5: 0.02 * step, 10: 0.025 * step}
            on_metrics(TrainingMetrics("match", step, steps, losses, recalls))
        out_dir = Path(config.run.out_dir)
        if wait_for_cancel:
            while not cancel():
                time.sleep(0.01)
            return TrainResult(out_dir, cancelled=True)
        out = out_dir / "model"
        shutil.copytree(bundle, out)
        on_metrics(TrainingMetrics("match", steps, steps, message="model saved", model_path=str(out)))
        return TrainResult(out_dir, bundle_dir=out)

    return run_training, seen


def test_menu_says_training_is_not_installed(qtbot, window, monkeypatch):
    monkeypatch.setattr(jobs, "find_training", lambda: None)
    window.training_flow.open()
    assert "Training is not installed in this build" in window.last_message.text()
    assert window.training_flow.dialog is None


def test_find_training_is_the_typed_entry_or_none(monkeypatch):
    from bgmatch.training.api import run_training

    assert jobs.find_training() is run_training
    monkeypatch.setitem(__import__("sys").modules, "bgmatch.training.api", None)  # a build without training
    assert jobs.find_training() is None


def test_dialog_without_training_explains_and_cannot_start(qtbot, window):
    dialog = window.training_flow.show_dialog(None)
    assert not dialog.start_button.isEnabled()
    assert "not installed" in dialog.status.text()


def test_run_plots_live_and_switches_to_the_new_model(qtbot, window, tmp_path, tiny_bundle_dir):
    run_training, seen = fake_training(bundle=tiny_bundle_dir)
    dialog = window.training_flow.show_dialog(run_training)
    assert Path(dialog.output_dir.text()) == window.library.folder / "models" / "latest"
    dialog.start()
    assert "Choose the folder" in dialog.status.text() and not dialog.running  # data folder is required
    edits = tmp_path / "edits"
    edits.mkdir()
    dialog.data_folder.setText(str(edits))
    dialog.epochs.setValue(3)
    dialog.device.setCurrentText("cpu")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.running and not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert seen["thread"] != threading.current_thread().name  # trained in a worker
    config = seen["config"]  # the dialog's fields through editor_config
    assert (config.data.format, config.data.root, config.data.tags_csv) == ("folder", str(edits.resolve()), "")
    assert config.match.epochs == 3 and config.run.device == "cpu"
    assert config.out_dir == (window.library.folder / "models" / "latest").resolve()
    assert set(dialog.loss_plot.points) == {"pretrain train", "match train", "match validation"}
    steps, losses = dialog.loss_plot.points["match train"]
    assert steps == list(range(1, 31)) and losses[0] == pytest.approx(2.0)
    assert dialog.loss_plot.points["match validation"][0] == [10, 20, 30]
    assert set(dialog.recall_plot.points) == {"match R@1", "match R@5", "match R@10"}  # no val_ duplicates
    assert dialog.recall_plot.points["match R@10"][1] == pytest.approx([0.25, 0.5, 0.75])
    low, high = dialog.recall_plot.getPlotItem().viewRange()[1]  # recall is drawn on its whole 0-1 scale
    assert low <= 0.0 and 1.0 <= high < 1.15
    assert "[prepare] 3 videos prepared" in dialog.log.toPlainText()
    assert "latest/model" in dialog.status.text() and "embedded" in dialog.status.text()
    # The new model replaces the active one once the library is embedded for it.
    assert window.model_flow.job is not None and window.model_task.isVisible()
    qtbot.waitUntil(lambda: window.model_flow.job is None, timeout=120_000)
    bundle = window.library.folder / "models" / "latest" / "model"
    assert window.settings.model_choice == str(bundle) and window.library.model is not None
    assert window.model_label.text() == "Model: latest"
    assert window.model_flow.bundles() == [bundle]


def test_cancel_stops_the_run(qtbot, window, tmp_path):
    run_training, _ = fake_training(steps=10, wait_for_cancel=True)
    dialog = window.training_flow.show_dialog(run_training)
    dialog.data_folder.setText(str(tmp_path))
    dialog.start()
    qtbot.waitUntil(lambda: len(dialog.loss_plot.points.get("match train", ([], []))[0]) == 10, timeout=10_000)
    start = time.monotonic()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert time.monotonic() - start < 2.0
    assert "resume" in dialog.status.text()
    assert dialog.start_button.isEnabled() and window.library.model is None


def test_bundle_marker_matches_the_engine():
    from bgmatch.engine.learned.modelchoice import BUNDLE_MANIFEST
    from bgmatch.engine.learned.bundle_format import BUNDLE_MANIFEST as ENGINE_MANIFEST

    assert BUNDLE_MANIFEST == ENGINE_MANIFEST


def test_training_errors_are_one_line(qtbot, window, tmp_path):
    from bgmatch.engine.errors import ConfigError

    def broken(config, *, progress=None, on_metrics=None, cancel=None):
        raise ConfigError(f"{config.data.root}: no videos with music found")

    dialog = window.training_flow.show_dialog(broken)
    dialog.data_folder.setText(str(tmp_path))
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert dialog.status.text() == f"{tmp_path.resolve()}: no videos with music found"
    assert dialog.status.objectName() == "error"


def test_menu_opens_the_dialog_with_the_installed_training(qtbot, window):
    api = pytest.importorskip("bgmatch.training.api")
    window.training_flow.open()
    dialog = window.training_flow.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.run_training is api.run_training and dialog.start_button.isEnabled()
    dialog.close()


def test_the_job_hands_progress_metrics_and_cancel_to_training():
    from bgmatch.app.workers import CancelToken

    calls = []

    def typed(config, *, progress=None, on_metrics=None, cancel=None):
        progress(1, 2, "match step 1/2")
        on_metrics("metrics")
        calls.append((config, cancel()))
        return "result"

    token, reported, metrics = CancelToken(), [], []
    run = jobs.training_job(typed, "config", metrics.append)
    assert run(lambda d, t, m: reported.append((d, t, m)), token) == "result"
    token.cancel()
    run(lambda d, t, m: None, token)
    assert reported == [(1, 2, "match step 1/2")] and metrics == ["metrics", "metrics"]
    assert calls == [("config", False), ("config", True)]
