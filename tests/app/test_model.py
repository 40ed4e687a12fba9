"""The model that ranks: retrain → embed → swap, re-ranked suggestions with a learned part, cancel, undo, settings."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from bgmatch.app.model_flow import model_name
from bgmatch.app.settings import MODEL_DEFAULT, MODEL_NONE, AppSettings
from bgmatch.app.suggestions import COL

#: The weight of the learned score recorded in the test's trained bundle (as fusion tuning would).
FUSION_WEIGHT = 1.0


def tiny_training(config, *, progress=None, on_metrics=None, cancel=None):
    """The installed ``run_training`` on the dialog's folder and output, with tiny networks and few steps."""
    from bgmatch.engine.learned.bundle_format import set_fusion_weight
    from bgmatch.training.api import run_training
    from bgmatch.training.config import parse_config

    small = {"n_layers": 1, "n_heads": 4, "d_model": 32, "conv_kernel": 15, "dropout": 0.0}
    tiny = parse_config({
        "run": {"out_dir": config.run.out_dir, "seed": 0, "device": "cpu", "threads": 1},
        "data": {"format": "folder", "root": config.data.root, "videos": ".", "valid_fraction": 0.34,
                 "test_fraction": 0.0},
        "features": {"frame_px": 64},
        "targets": {"source": "pseudo"},
        "model": {"name": "small", "music": {**small, "subsample_channels": 16}, "video": {**small, "stem_channels": 8},
                  "matching": {"dim": 32, "n_heads": 4, "dropout": 0.0}},
        "pretrain": {"steps": 4, "batch_size": 4, "log_every": 2, "checkpoint_every": 4},
        "match": {"steps": 10, "batch_size": 4, "lr": 1e-3, "log_every": 2, "checkpoint_every": 10, "valid_every": 5},
    })
    result = run_training(tiny, progress=progress, on_metrics=on_metrics, cancel=cancel,
                          stages=("prepare", "pretrain", "match"))
    if result.bundle_dir is not None:
        set_fusion_weight(result.bundle_dir, FUSION_WEIGHT)
    return result


def _training_menu(window) -> dict:
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Training")
    return {a.text().replace("&", ""): a for a in menu.actions()}


def _restored(qtbot, window) -> None:
    """Wait until the saved model choice is applied (a worker loads it when the window opens)."""
    qtbot.waitUntil(lambda: window.model_flow.job is None, timeout=120_000)


def _settled(qtbot, window, timeout_ms: int = 120_000) -> None:
    """Wait until no model is loading and the suggestions are ranked again."""
    qtbot.waitUntil(lambda: window.model_flow.job is None, timeout=timeout_ms)
    qtbot.waitUntil(lambda: window.suggest_flow.job is None and window.session.video is not None,
                    timeout=timeout_ms)


def _scores(window) -> dict[str, float]:
    return {s.track_id: s.score for s in window.session.suggestions}


def test_retrain_swaps_the_model_reranks_and_undo_goes_back(qtbot, analysed, past_edits):
    window = analysed
    _restored(qtbot, window)
    sync_scores = _scores(window)
    assert all("learned" not in s.parts for s in window.session.suggestions)
    assert "learned" not in window.suggestions.details.text()  # the raw parts are the details pane's
    assert window.model_label.text() == "Model: analysis score" and not window.undo_model_action.isEnabled()

    dialog = window.training_flow.show_dialog(tiny_training)
    dialog.data_folder.setText(str(past_edits))
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=600_000)
    bundle = window.library.folder / "models" / "latest" / "model"
    assert dialog.status.objectName() != "error", dialog.status.text()
    assert dialog.model_path == str(bundle)
    # The library is embedded for the new model in a worker, then it ranks.
    assert window.model_flow.job is not None and window.model_task.isVisible()
    assert window.library.model is None  # not before its embeddings are stored
    _settled(qtbot, window)
    model = window.library.model
    assert model is not None and window.library.missing_embeddings() == []
    assert window.model_label.text() == "Model: latest"
    assert AppSettings().model_choice == str(bundle)

    ranked = window.session.suggestions
    assert len(ranked) == len(sync_scores) and all("learned" in s.parts for s in ranked)
    for s in ranked:  # the analysis score fused with the learned one
        assert s.score == pytest.approx(sync_scores[s.track_id] + FUSION_WEIGHT * s.parts["learned"], abs=1e-6)
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    assert f"learned {window.suggestions.current().parts['learned']:+.3f}" in window.suggestions.details.text()
    shown = window.suggestions.proxy.index(0, COL["Learned"]).data()
    assert shown == f"{ranked[0].parts['learned']:+.2f}"

    # Undo is instant: no loading, no embedding; the analysis score ranks again.
    assert window.undo_model_action.isEnabled() and "analysis score" in window.undo_model_action.text()
    window.undo_model_action.trigger()
    assert window.library.model is None and window.model_flow.job is None
    assert window.model_label.text() == "Model: analysis score"
    assert AppSettings().model_choice == MODEL_DEFAULT  # the choice before the swap
    _settled(qtbot, window)
    assert _scores(window) == pytest.approx(sync_scores)
    assert "learned" not in window.suggestions.details.text() and not window.undo_model_action.isEnabled()
    # Switching back needs no embedding: the store kept the new model's embeddings.
    assert window.library.missing_embeddings(model) == []


def test_cancel_while_embedding_keeps_the_old_model(qtbot, window, tiny_bundle_dir):
    _restored(qtbot, window)
    from bgmatch.engine.learned.bundle import ModelBundle

    job = window.model_flow.use(str(tiny_bundle_dir))
    assert job is not None and window.model_task.isVisible()
    qtbot.waitUntil(lambda: "Embedding" in window.model_task.label.text(), timeout=60_000)
    window.model_task.cancel_button.click()
    qtbot.waitUntil(lambda: window.model_flow.job is None, timeout=60_000)
    assert job.token.cancelled
    assert window.library.model is None and window.model_label.text() == "Model: analysis score"
    assert "cancelled" in window.status_label.text() and not window.model_task.isVisible()
    assert AppSettings().model_choice == MODEL_DEFAULT and not window.undo_model_action.isEnabled()
    # What was embedded before the cancel is kept: the next try resumes.
    missing = window.library.missing_embeddings(ModelBundle.load(tiny_bundle_dir, device="cpu"))
    assert 0 < len(missing) < len(window.library)


def test_use_model_folder_analysis_only_and_undo(qtbot, window, tiny_bundle_dir, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tiny_bundle_dir))
    _restored(qtbot, window)
    actions = _training_menu(window)
    actions["Use Model…"].trigger()
    qtbot.waitUntil(lambda: window.model_flow.job is None, timeout=120_000)
    model = window.library.model
    assert model is not None and window.model_label.text() == f"Model: {model_name(tiny_bundle_dir)}"
    assert window.settings.model_choice == str(tiny_bundle_dir)
    actions["Use Model…"].trigger()  # the same model again: loaded, nothing to embed, nothing to undo
    qtbot.waitUntil(lambda: window.model_flow.job is None, timeout=120_000)
    assert window.library.model.version == model.version and len(window.model_flow.undo_stack) == 1
    model = window.library.model

    actions["Use Analysis Only"].trigger()  # instant
    assert window.library.model is None and window.settings.model_choice == MODEL_NONE
    assert window.model_label.text() == "Model: analysis score"
    window.model_menu.aboutToShow.emit()
    assert [a.text() for a in window.model_menu.actions() if a.isChecked()] == ["Analysis Score (beats, onsets, energy)"]

    window.undo_model_action.trigger()  # back to the bundle, instant
    assert window.library.model is model and window.settings.model_choice == str(tiny_bundle_dir)
    window.undo_model_action.trigger()  # and back to the start
    assert window.library.model is None and window.settings.model_choice == MODEL_DEFAULT
    assert not window.undo_model_action.isEnabled()


def test_the_saved_model_ranks_after_a_restart(qtbot, settings, tiny_bundle_dir):
    from bgmatch.app.main_window import MainWindow

    settings.model_choice = str(tiny_bundle_dir)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.library.model is not None, timeout=120_000)
    assert w.model_label.text() == f"Model: {model_name(tiny_bundle_dir)}"
    assert not w.undo_model_action.isEnabled()  # restoring is not a change to undo
    w.close()


def test_a_saved_model_that_is_gone_falls_back_to_the_analysis_score(qtbot, settings, tmp_path):
    from bgmatch.app.main_window import MainWindow

    gone = tmp_path / "deleted-run" / "model"
    settings.model_choice = str(gone)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.model_flow.job is None and w.last_message is not None, timeout=60_000)
    text = w.last_message.text()
    assert str(gone) in text and "still using the analysis score" in text and "\n" not in text
    assert w.library.model is None and w.model_label.text() == "Model: analysis score"
    assert w.settings.model_choice == str(gone)  # kept, for a drive that comes back
    w.close()


def test_model_setting_values():
    from bgmatch.engine.learned import modelchoice

    assert (MODEL_DEFAULT, MODEL_NONE) == (modelchoice.DEFAULT, modelchoice.NONE)
    s = AppSettings()
    assert s.model_choice == MODEL_DEFAULT
    s.qsettings.setValue("model/choice", "analysis")  # what older versions saved for the analysis score
    assert s.model_choice == MODEL_NONE
    s.model_choice = str(Path("/models/run/model"))
    assert AppSettings().model_choice == str(Path("/models/run/model"))


@pytest.mark.shipped_model
def test_a_first_start_ranks_by_the_analysis_score_while_the_shipped_model_weighs_0(qtbot, settings, video):
    """No saved choice: the shipped model's learned score weighs 0 (assets/MODEL.md), so the window
    ranks by the analysis score without loading it or embedding the library, and the Model menu
    does not offer a model that would change nothing."""
    from bgmatch.app.main_window import MainWindow
    from bgmatch.engine.learned.bundle_format import fusion_weight
    from bgmatch.engine.learned.modelchoice import default_bundle_path

    shipped = default_bundle_path()
    assert shipped is not None, "assets/model is missing from this installation"
    assert fusion_weight(shipped) == 0
    w = MainWindow(settings)
    qtbot.addWidget(w)
    _restored(qtbot, w)
    assert w.library.model is None and w.model_label.text() == "Model: analysis score"
    assert w.suggest_flow.open_video(video)
    _settled(qtbot, w)
    assert w.session.suggestions and all("learned" not in s.parts for s in w.session.suggestions)
    w.model_menu.aboutToShow.emit()
    assert "Default Model (shipped)" not in {a.text() for a in w.model_menu.actions()}
    w.close()


@pytest.mark.shipped_model
def test_a_first_start_ranks_with_a_shipped_model_that_counts(qtbot, settings, video, tmp_path, monkeypatch):
    """A shipped model whose learned score counts (here the real one at fusion weight 0.5): the
    window loads it, embeds the library, and the suggestions carry the learned part."""
    import shutil

    from bgmatch.app.main_window import MainWindow
    from bgmatch.engine.learned import modelchoice
    from bgmatch.engine.learned.bundle_format import set_fusion_weight

    counting = tmp_path / "model"
    shutil.copytree(modelchoice.default_bundle_path(), counting)
    set_fusion_weight(counting, 0.5)
    monkeypatch.setattr(modelchoice, "default_bundle_path", lambda: counting)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    _restored(qtbot, w)
    assert w.library.model is not None and w.model_label.text() == "Model: default model"
    assert w.library.missing_embeddings() == []
    assert w.suggest_flow.open_video(video)
    _settled(qtbot, w)
    assert all("learned" in s.parts for s in w.session.suggestions)
    w.model_menu.aboutToShow.emit()
    items = {a.text(): a for a in w.model_menu.actions()}
    assert items["Default Model (shipped)"].isChecked()
    items["Analysis Score (beats, onsets, energy)"].trigger()  # instant
    assert w.library.model is None
    w.model_menu.aboutToShow.emit()
    next(a for a in w.model_menu.actions() if a.text() == "Default Model (shipped)").trigger()
    _settled(qtbot, w)  # loaded again; nothing to embed
    assert w.library.model is not None and w.model_label.text() == "Model: default model"
    w.close()
