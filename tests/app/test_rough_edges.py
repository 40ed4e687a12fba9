"""Issue 18.11, the GUI rough edges: file-dialog toolbar icons under the app's theme, the filter row
off the pane's edge, the beat-grid buttons in words."""
from __future__ import annotations

from PySide6.QtGui import QIcon, QImage
from PySide6.QtWidgets import QFileDialog, QLabel, QToolButton

from bgmatch.app.theme import STYLE_SHEET, dark_palette

#: The file dialog's toolbar (back, forward, up, new folder, list and detail view).
TOOLBAR = ("backButton", "forwardButton", "toParentButton", "newFolderButton", "listModeButton", "detailModeButton")


def _pixels_differing(a: QImage, b: QImage) -> int:
    return sum(a.pixel(x, y) != b.pixel(x, y) for x in range(a.width()) for y in range(a.height()))


def test_file_dialog_toolbar_icons_are_drawn_under_the_app_theme(qtbot, tmp_path):
    dialog = QFileDialog(None, "Export video with track", str(tmp_path))
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # what Linux without a desktop theme shows
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setPalette(dark_palette())
    dialog.setStyleSheet(STYLE_SHEET)
    qtbot.addWidget(dialog)
    dialog.show()
    for name in TOOLBAR:
        button = dialog.findChild(QToolButton, name)
        assert button is not None and not button.icon().isNull(), name
        with_icon = button.grab().toImage()
        icon = button.icon()
        button.setIcon(QIcon())
        without = button.grab().toImage()
        button.setIcon(icon)
        # A 16-px icon is drawn whole (the theme's tool-button padding once squeezed it to 4 px or nothing).
        assert _pixels_differing(with_icon, without) >= 40, name


def test_tempo_filter_label_keeps_off_the_pane_edge(qtbot, window):
    panel = window.suggestions
    label = next(w for w in panel.findChildren(QLabel) if w.text() == "Tempo")
    assert label.mapTo(panel, label.rect().topLeft()).x() >= 6


def test_beat_grid_buttons_are_labelled_in_words_with_their_tooltips(qtbot, window):
    texts = [b.text() for b in window.alignment.alignment_buttons]
    grid = ["Half tempo", "Double tempo", "Grid −10 ms", "Grid +10 ms", "Grid +½ beat", "Reset"]
    assert texts[-len(grid):] == grid
    tips = {b.text(): b.toolTip() for b in window.alignment.alignment_buttons}
    assert tips["Half tempo"].startswith("The beat tracker found double the real tempo")
    assert tips["Grid −10 ms"] == "Move the beat grid 10 ms earlier"
    assert tips["−1 beat"] == "Start the track one beat earlier (Ctrl+Left)"  # shortcuts kept in the tooltips
    # With the app's theme and the widest offset text, the bar still fits the window's default 1440 px.
    window.alignment.setStyleSheet(STYLE_SHEET)
    window.alignment.set_offset(4.75, 12.0)
    assert window.alignment.minimumSizeHint().width() <= 1440
