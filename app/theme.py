"""The app's look: Fusion with a dark palette and a small style sheet."""
from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

STYLE_SHEET = """
QMainWindow, QDialog { background: #202124; }
QLabel#hint { color: #9a9ca3; }
QLabel#emptyState { color: #9a9ca3; font-size: 12pt; padding: 24px; }
QLabel#error { color: #ff8a80; }
QLabel#clock { font-family: "DejaVu Sans Mono", monospace; font-size: 11pt; padding: 0 6px; }
QLabel#offset { font-weight: 600; padding: 0 6px; }
QLabel#alignment { color: #c5e1a5; font-weight: 600; }
QLabel#dropZone {
    border: 2px dashed #4a4d55; border-radius: 14px; color: #d7d9de; background: #17181b; padding: 24px;
}
QLabel#dropZone[dragActive="true"] { border-color: #4fc3f7; background: #182630; }
QTabWidget::pane { border: 1px solid #34363c; border-radius: 4px; top: -1px; }
QTabBar::tab { padding: 6px 16px; background: #26282c; border: 1px solid #34363c; border-bottom: none;
               border-top-left-radius: 4px; border-top-right-radius: 4px; margin-right: 2px; color: #b8bac0; }
QTabBar::tab:selected { background: #2f3237; color: #ffffff; }
QHeaderView::section { background: #2a2c31; color: #c9cbd1; padding: 4px 6px; border: none;
                       border-right: 1px solid #34363c; border-bottom: 1px solid #34363c; }
QHeaderView::up-arrow, QHeaderView::down-arrow { subcontrol-origin: padding; subcontrol-position: top center;
                                                width: 8px; height: 5px; }
QTableView { gridline-color: #34363c; selection-background-color: #2f6f9f; selection-color: #ffffff; }
QPushButton { padding: 4px 14px; border: 1px solid #3b3e45; border-radius: 4px; background: #2a2c31; }
QPushButton:hover { background: #34373d; }
QPushButton:pressed { background: #3d4148; }
QPushButton:default { border-color: #2f6f9f; }
QPushButton:disabled { color: #5d6066; border-color: #2d2f34; }
QToolButton { padding: 3px 8px; border: 1px solid #3b3e45; border-radius: 4px; background: #2a2c31; }
QToolButton:hover { background: #34373d; }
QToolButton:disabled { color: #5d6066; border-color: #2d2f34; }
QToolButton#playButton { padding: 4px 10px; }
QFileDialog QToolButton { padding: 1px; }
QGroupBox { border: 1px solid #34363c; border-radius: 6px; margin-top: 10px; padding: 10px 6px 4px 6px; }
QGroupBox::title { subcontrol-origin: margin; subcontrol-position: top left; left: 12px; top: 0px;
                   padding: 0 6px; color: #b8bac0; background: #202124; }
QStatusBar { color: #b8bac0; }
QStatusBar QLabel#error { color: #ff8a80; }
QProgressBar { border: 1px solid #3b3e45; border-radius: 4px; text-align: center; background: #1b1c1f;
               min-height: 16px; }
QProgressBar::chunk { background: #2f6f9f; border-radius: 3px; }
"""


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style."""
    p = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e3e5e8",
        QPalette.ColorRole.Base: "#1b1c1f", QPalette.ColorRole.AlternateBase: "#232428",
        QPalette.ColorRole.ToolTipBase: "#2a2c31", QPalette.ColorRole.ToolTipText: "#e3e5e8",
        QPalette.ColorRole.Text: "#e3e5e8", QPalette.ColorRole.Button: "#2a2c31",
        QPalette.ColorRole.ButtonText: "#e3e5e8", QPalette.ColorRole.BrightText: "#ff5252",
        QPalette.ColorRole.Link: "#4fc3f7", QPalette.ColorRole.Highlight: "#2f6f9f",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.PlaceholderText: "#7d8087",
    }
    for role, color in colors.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b6e75"))
    return p


def app_icon() -> QIcon:
    """The bgmatch icon (bundled SVG)."""
    from bgmatch.assets import asset_path

    return QIcon(str(asset_path("icons", "bgmatch.svg")))


def apply_theme(app: QApplication) -> None:
    """Fusion, dark palette, style sheet and icon."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
    app.setWindowIcon(app_icon())
