"""What a dropped file must be before it is analysed as a video."""
from __future__ import annotations

import os
from pathlib import Path

from ..analysis import media
from ..errors import MediaError


def check_video(path: str | os.PathLike[str]) -> media.MediaInfo:
    """Probe ``path`` and make sure it is a video (``MediaError`` with the reason otherwise)."""
    path = Path(path)
    info = media.probe(path)
    if not info.has_video:
        kind = "an audio file" if info.has_audio else "not a video"
        raise MediaError(path, f"{kind}, not a video — drop a video file (MP4, MOV, AVI, MKV, …)")
    if info.duration_s <= 0:
        raise MediaError(path, "the video has no duration")
    return info
