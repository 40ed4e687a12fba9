"""Training ▸ Retrain: the missing-package message, and the dialog driving a training function."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from bgmatch.app import jobs


def fake_training(events_before_wait: int = 3):
    """A stand-in for ``bgmatch.training.cli.run_training`` with the same signature and protocol."""
    seen: dict = {}

    def run_training(config, progress_callback, cancel_flag: threading.Event):
        seen["config"] = config
        seen["thread"] = threading.current_thread().name
        out = Path(config["output_dir"]) / "model.pt"
        for epoch in range(1, events_before_wait + 1):
            for step in range(epoch * 10 - 9, epoch * 10 + 1):
                progress_callback({"stage": "match", "step": step, "train_loss": 2.0 / step})
            progress_callback({"epoch": epoch, "valid_loss": 1.5 / epoch, "recall@1": 0.1 * epoch,
                               "recall": {"5": 0.2 * epoch, "10": 0.25 * epoch}, "fraction": epoch / 10,
                               "message": f"epoch {epoch} done"})
        if config.get("wait_for_cancel"):
            while not cancel_flag.wait(0.01):
                pass
            return None
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"weights")
        return {"model_path": str(out)}

    return run_training, seen


def test_menu_says_training_is_not_installed(qtbot, window, monkeypatch):
    monkeypatch.setattr(jobs, "find_training", lambda: None)
    window.open_training()
    assert "Training is not installed in this build" in window.last_message.text()
    assert window.training_dialog is None


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
    dialog = window.show_training_dialog(None)
    assert not dialog.start_button.isEnabled()
    assert "not installed" in dialog.status.text()


def test_run_plots_live_and_offers_the_new_model(qtbot, window, tmp_path):
    run_training, seen = fake_training()
    dialog = window.show_training_dialog(run_training)
    dialog.start()
    assert "Choose the folder" in dialog.status.text() and not dialog.running  # data folder is required
    edits = tmp_path / "edits"
    edits.mkdir()
    dialog.data_folder.setText(str(edits))
    dialog.output_dir.setText(str(tmp_path / "models"))
    dialog.epochs.setValue(3)
    dialog.device.setCurrentText("cpu")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.running and not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert seen["thread"] != threading.current_thread().name  # trained in a worker
    assert seen["config"]["data"] == {"folder": str(edits), "tags_csv": None}
    assert seen["config"]["train"]["epochs"] == 3 and seen["config"]["device"] == "cpu"
    train_x, train_y = dialog.loss_plot.points["train"]
    assert len(train_x) == 30 and train_y[0] == pytest.approx(2.0)
    assert dialog.loss_plot.points["validation"][0] == [10, 20, 30]
    assert set(dialog.recall_plot.points) == {"R@1", "R@5", "R@10"}
    assert dialog.recall_plot.points["R@10"][1] == pytest.approx([0.25, 0.5, 0.75])
    assert "epoch 3 done" in dialog.log.toPlainText()
    assert dialog.use_button.isVisible() and "model.pt" in dialog.status.text()
    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert window.settings.model_choice == str(tmp_path / "models" / "model.pt")
    assert window.model_label.text() == "Model: model.pt"


def test_cancel_stops_the_run(qtbot, window, tmp_path):
    run_training, _ = fake_training(events_before_wait=1)
    dialog = window.show_training_dialog(run_training)
    dialog.data_folder.setText(str(tmp_path))
    original = dialog.config
    dialog.config = lambda: {**original(), "wait_for_cancel": True}
    dialog.start()
    qtbot.waitUntil(lambda: len(dialog.loss_plot.points.get("train", ([], []))[0]) == 10, timeout=10_000)
    start = time.monotonic()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert time.monotonic() - start < 2.0
    assert not dialog.use_button.isVisible() and dialog.start_button.isEnabled()


def test_training_errors_are_one_line(qtbot, window, tmp_path):
    from bgmatch.engine.errors import ConfigError

    def broken(config, progress_callback, cancel_flag):
        raise ConfigError(f"{config['data']['folder']}: no videos with music found")

    dialog = window.show_training_dialog(broken)
    dialog.data_folder.setText(str(tmp_path))
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10_000)
    assert dialog.status.text() == f"{tmp_path}: no videos with music found"
    assert dialog.status.objectName() == "error"
