"""The bgmatch desktop app (PySide6)."""
