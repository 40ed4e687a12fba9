"""The video pane: the drop zone (with a hint while no video is loaded) and the video surface."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

HINT = ("<div style='font-size:20pt; font-weight:600'>Drop a video here</div>"
        "<div style='margin-top:10px'>or File ▸ Open Video… (Ctrl+O)</div>"
        "<div style='margin-top:18px; color:#8a8d93'>bgmatch ranks your music library by how well each "
        "track's beats,<br>onsets and energy fit the video's cuts and motion.</div>")


class VideoPane(QStackedWidget):
    """Shows the drop hint until a video is loaded, then the video."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("videoPane")
        self.hint = QLabel(HINT)
        self.hint.setObjectName("dropZone")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        hint_page = QWidget()
        layout = QVBoxLayout(hint_page)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addWidget(self.hint)
        self.video = QVideoWidget()
        self.video.setAutoFillBackground(True)
        palette = self.video.palette()
        palette.setColor(QPalette.ColorRole.Window, Qt.GlobalColor.black)
        self.video.setPalette(palette)
        self.addWidget(hint_page)
        self.addWidget(self.video)
        self.setMinimumSize(320, 200)

    def show_video(self, shown: bool) -> None:
        """Switch between the drop hint and the video."""
        self.setCurrentWidget(self.video if shown else self.widget(0))

    def set_drag_active(self, active: bool) -> None:
        """Highlight the drop zone while a file is dragged over the window."""
        self.hint.setProperty("dragActive", active)
        self.hint.style().unpolish(self.hint)
        self.hint.style().polish(self.hint)
