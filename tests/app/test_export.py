"""File ▸ Export: the engine's export in a worker, with progress, Cancel and an offer to reveal the file."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox

from bgmatch.engine.analysis.media import decode_audio, probe


def test_export_from_menu_writes_video_with_track_and_offers_reveal(qtbot, analysed, tmp_path, monkeypatch):
    window = analysed
    window.session.nudge_seconds(0.5)
    offset = window.session.offset_s
    out = tmp_path / "exports" / "result"  # no suffix: .mp4 is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    fractions: list[float] = []
    window.export_action.trigger()
    window.export_flow.job.signals.progress.connect(lambda done, total, _t: fractions.append(done / total))
    assert window.export_task.isVisible()
    qtbot.waitUntil(lambda: window.export_flow.job is None, timeout=60_000)
    written = out.with_suffix(".mp4")
    assert window.export_flow.exported_path == written and written.exists()
    assert fractions == sorted(fractions)
    info, source = probe(written), probe(window.session.video_path)
    assert info.has_video and info.has_audio
    assert info.duration_s == pytest.approx(source.duration_s, abs=0.1)
    # The soundtrack is the chosen track from the chosen offset (compare a second in the middle).
    sr = 16000
    ours = decode_audio(written, sr_hz=sr, offset_s=5.0, max_duration_s=1.0)
    track = decode_audio(window.session.chosen.path, sr_hz=sr, offset_s=offset + 5.0, max_duration_s=1.0)
    corr = np.corrcoef(ours[: len(track)], track[: len(ours)])[0, 1]
    assert corr > 0.9
    # Trimmed and faded: silent at the very end.
    tail = decode_audio(written, sr_hz=sr, offset_s=info.duration_s - 0.05)
    assert np.abs(tail).max() < 0.05
    box = window.last_message
    assert "Wrote" in box.text() and str(written) in box.text()
    reveal = next(b for b in box.buttons() if b.text() == "Show in Folder")
    reveal.click()
    assert opened == [str(written.parent)]
    assert window.settings.last_folder("export") == written.parent


def test_cancelled_export_leaves_no_file(qtbot, analysed, tmp_path):
    window = analysed
    out = tmp_path / "cancelled.mp4"
    job = window.export_flow.export(out)
    job.cancel()
    qtbot.waitUntil(lambda: window.export_flow.job is None, timeout=60_000)
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    assert "cancelled" in window.status_label.text()


def test_export_needs_a_chosen_track(qtbot, window, tmp_path):
    assert not window.export_action.isEnabled()
    assert window.export_flow.export(tmp_path / "x.mp4") is None
    assert "choose a track" in window.last_message.text()
    window.last_message.done(QMessageBox.StandardButton.Ok)
