"""Rewrite a real Ogg Vorbis file so that it repeats its header packets, as some shipped files do.

FFmpeg refuses such a stream and libsndfile plays it (Debian's ``hyperrogue-music`` has files
like this), which is what the libsndfile fallback of ``engine.analysis.media`` is tested on.
No installed library writes Ogg pages by hand, so the page layout and its CRC are coded here.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterator

_HEADER = struct.Struct("<4sBBqIIIB")  # capture pattern, version, type, granule, serial, sequence, CRC, segments


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def _crc(data: bytes) -> int:
    """The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, initial value 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[(crc >> 24) ^ byte]
    return crc


def _pages(data: bytes) -> Iterator[bytes]:
    pos = 0
    while pos < len(data):
        n_segments = data[pos + 26]
        size = 27 + n_segments + sum(data[pos + 27: pos + 27 + n_segments])
        yield data[pos: pos + size]
        pos += size


def _packets(page: bytes) -> list[bytes]:
    """The packets that end on ``page`` (the header pages hold only whole packets)."""
    n_segments = page[26]
    lacing, body = page[27: 27 + n_segments], page[27 + n_segments:]
    packets, start, length = [], 0, 0
    for value in lacing:
        length += value
        if value < 255:
            packets.append(body[start: start + length])
            start, length = start + length, 0
    return packets


def _page(kind: int, granule: int, serial: int, sequence: int, packets: list[bytes]) -> bytes:
    lacing = b"".join(bytes([255]) * (len(p) // 255) + bytes([len(p) % 255]) for p in packets)
    if len(lacing) > 255:
        raise ValueError("the packets do not fit on one page")
    page = bytearray(_HEADER.pack(b"OggS", 0, kind, granule, serial, sequence, 0, len(lacing)) + lacing
                     + b"".join(packets))
    page[22:26] = struct.pack("<I", _crc(bytes(page)))
    return bytes(page)


def _renumbered(page: bytes, sequence: int) -> bytes:
    fields = list(_HEADER.unpack_from(page))
    fields[5], fields[6] = sequence, 0
    out = bytearray(_HEADER.pack(*fields) + page[_HEADER.size:])
    out[22:26] = struct.pack("<I", _crc(bytes(out)))
    return bytes(out)


def repeat_vorbis_headers(source: Path, target: Path) -> Path:
    """Copy the Ogg Vorbis ``source`` to ``target`` with its three header packets sent twice."""
    pages = list(_pages(source.read_bytes()))
    headers = _packets(pages[0]) + _packets(pages[1])
    if [h[:7] for h in headers] != [b"\x01vorbis", b"\x03vorbis", b"\x05vorbis"]:
        raise ValueError(f"{source}: the first two pages are not the three Vorbis headers")
    serial = _HEADER.unpack_from(pages[0])[4]
    again = _page(0, 0, serial, 2, headers)
    target.write_bytes(b"".join([*pages[:2], again, *(_renumbered(p, 3 + i) for i, p in enumerate(pages[2:]))]))
    return target
