"""A music file's own tags (title, artist, album, genre, date), read with PyAV.

Ogg Vorbis/Opus keep their Vorbis comments on the audio stream, MP3/MP4/FLAC mostly on the
container, and the key case varies by tagger ("TITLE", "Title", "title"): both places are
read, keys compared case-insensitively, the container winning where both have a key. A file
FFmpeg cannot open but libsndfile can (see :mod:`.sndfile`) has its tags read by libsndfile.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import av

from ..errors import MediaError
from .media import first_decodable
from .sndfile import sndfile_info

FIELDS = ("title", "artist", "album", "genre", "date")


@dataclass(frozen=True)
class TrackMetadata:
    """The tags a file carries; None where it has none (or only whitespace)."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    date: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The tags that are present, e.g. for JSON output."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def read_metadata(path: str | os.PathLike[str]) -> TrackMetadata:
    """The title, artist, album, genre and date tags of ``path``; ``MediaError`` if it cannot be opened."""
    try:
        with av.open(os.fspath(path)) as container:
            stream = first_decodable(container.streams.audio)
            tags = {k.lower(): v for k, v in (stream.metadata if stream is not None else {}).items()}
            tags.update({k.lower(): v for k, v in container.metadata.items()})
    except (av.error.FFmpegError, OSError) as error:
        found = sndfile_info(path)
        if found is not None:
            return TrackMetadata(**{f: found[2].get(f) for f in FIELDS})
        raise MediaError(path, f"cannot read tags: {getattr(error, 'strerror', None) or error}") from None
    return TrackMetadata(**{f: (tags.get(f) or "").strip() or None for f in FIELDS})
