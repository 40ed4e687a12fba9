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
    """A stand-in for ``bgmatch.training.cli.run_training`` with its signature and event protocol
    (its "trained" model is a copy of ``bundle``)."""
    seen: dict = {}

    def run_training(config, progress_callback, cancel_flag: threading.Event):
        seen["config"] = config
        seen["thread"] = threading.current_thread().name
        progress_callback({"stage": "prepare", "message": "3 videos prepared"})
        for step in range(1, 4):
            progress_callback({"stage": "pretrain", "step": step, "total": 3, "fraction": step / 3, "loss": 5.0 / step})
        for step in range(1, steps + 1):
            event = {"stage": "match", "step": step, "total": steps, "fraction": step / steps, "loss": 2.0 / step,
                     "loss_triplet": 0.1}
            if step % 10 == 0:
                event.update({"val_recall@1": 0.01 * step, "recall@1": 0.01 * step, "recall@5": 0.02 * step,
                              "recall@10": 0.025 * step, "val_loss": 1.5 / step})
            progress_callback(event)
        if wait_for_cancel:
            while not cancel_flag.wait(0.01):
                pass
            return {"model_path": None, "cancelled": True}
        out = Path(config["output_dir"]) / "model"
        shutil.copytree(bundle, out)
        progress_callback({"stage": "match", "message": "model saved", "model_path": str(out)})
        return {"model_path": str(out), "cancelled": False}

    return run_training, seen


def test_menu_says_training_is_not_installed(qtbot, window, monkeypatch):
    monkeypatch.setattr(jobs, "find_training", lambda: None)
    window.training_flow.open()
    assert "Training is not installed in this build" in window.last_message.text()
    assert window.training_flow.dialog is None


def test_find_training_looks_up_run_training(monkeypatch):
    import importlib
    import types

    module = types.ModuleType("bgmatch.training.cli")
    monkeypatch.setitem(__import__("sys").modules, "bgmatch.training.cli", module)
    assert jobs.find_training() is None  # module without the function
    module.run_training = lambda *a: None
    assert jobs.find_training() is module.run_training
    monkeypatch.setattr(importlib, "import_module", lambda name: (_ for _ in ()).throw(ModuleNotFoundError(name)))
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
    assert seen["config"]["data"] == {"folder": str(edits), "tags_csv": None}
    assert seen["config"]["train"]["epochs"] == 3 and seen["config"]["device"] == "cpu"
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

    def broken(config, progress_callback, cancel_flag):
        raise ConfigError(f"{config['data']['folder']}: no videos with music found")

    dialog = window.training_flow.show_dialog(broken)
    dialog.data_folder.setText(str(tmp_path))
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert dialog.status.text() == f"{tmp_path}: no videos with music found"
    assert dialog.status.objectName() == "error"


def test_menu_opens_the_dialog_with_the_installed_training(qtbot, window):
    cli = pytest.importorskip("bgmatch.training.cli")
    window.training_flow.open()
    dialog = window.training_flow.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.run_training is cli.run_training and dialog.start_button.isEnabled()
    dialog.close()


def test_terminal_progress_bars_are_turned_off_when_supported():
    calls = []

    def with_options(config, progress_callback, cancel_flag, **options):
        calls.append(options)

    def plain(config, progress_callback, cancel_flag):
        calls.append("plain")

    from bgmatch.app.workers import CancelToken

    for fn in (with_options, plain):
        jobs.training_job(fn, {}, lambda event: None)(lambda f, t: None, CancelToken())
    assert calls == [{"show_bar": False}, "plain"]
