"""Where the benchmark's human-composed MIDI comes from, and under which license.

* Debian packages of game music shipped as MIDI (:data:`DEBIAN_PACKAGES`), fetched without
  installing (``apt-get download`` + ``dpkg -x``) into ``SRC/x/<package>``; each package's
  ``copyright`` file is copied to ``SRC/licenses/``. Freedoom's music is MIDI inside its WAD
  files; omgifol reads the lumps out to ``SRC/x/freedoom-midi/`` (each distinct lump once).
* music21's bundled corpus, only collections whose music and encodings are free to use
  (:data:`MUSIC21_COLLECTIONS`); the Essen folksong collection is left out (its encoder allows
  non-commercial use only), as are the classical encodings of unclear origin.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bgmatch.engine.errors import ConfigError

#: Debian package → license of its MIDI files (from the package's copyright file).
DEBIAN_PACKAGES: dict[str, str] = {
    "openttd-openmsx": "GPL-2.0 (OpenMSX, © 2010 various authors; Debian package openttd-openmsx)",
    "freedoom": "BSD-3-Clause (Freedoom, © 2001-2012 Contributors to the Freedoom project; Debian package freedoom)",
    "planetblupi-music-midi": "GPL-3+ (Planet Blupi, © 1997 Daniel Roux, EPSITEC SA & Denis Dumoulin, "
                              "2017-2018 Mathieu Schroeter; Debian package planetblupi-music-midi)",
}

#: music21 corpus collection → license. All four are out of copyright; the ABC transcriptions
#: are distributed with music21 (BSD) by their contributors (named in each file).
MUSIC21_COLLECTIONS: dict[str, str] = {
    "ryansMammoth": "public domain (Ryan's Mammoth Collection, 1883); ABC transcription distributed with music21",
    "oneills1850": "public domain (O'Neill's Music of Ireland, 1903); ABC transcription distributed with music21",
    "airdsAirs": "public domain (Aird's Selection of Airs, 1782-1797); ABC transcription distributed with music21",
    "bach": "public domain (J. S. Bach, chorales); encoding distributed with music21",
}


@dataclass(frozen=True)
class Piece:
    """One source piece: a MIDI file, or a score of music21's corpus (``number`` within an opus)."""

    piece_id: str  # "openttd-openmsx/city_blues_redfarn", "music21/oneills1850/0001-0050/29"
    kind: Literal["midi", "music21"]
    path: str  # MIDI file path, or music21 corpus path ("oneills1850/0001-0050.abc")
    number: int | None
    origin: str  # "debian:openttd-openmsx", "music21:oneills1850"
    license: str
    meter: str | None = None  # as listed by the source ("6/8"), before parsing
    title: str = ""


def fetch_debian(src_dir: Path, packages: list[str] | None = None) -> dict[str, Path]:
    """Unpack each Debian package into ``src_dir/x/<package>`` (once); ``{package: folder}``."""
    out: dict[str, Path] = {}
    for pkg in packages or list(DEBIAN_PACKAGES):
        target = src_dir / "x" / pkg
        if not target.is_dir():
            debs = src_dir / "debs"
            debs.mkdir(parents=True, exist_ok=True)
            if not list(debs.glob(f"{pkg}_*.deb")):
                if shutil.which("apt-get") is None:
                    raise ConfigError(f"{pkg}: not in {debs} and apt-get is missing to download it")
                res = subprocess.run(["apt-get", "download", "-qq", pkg], cwd=debs, capture_output=True, text=True)
                if res.returncode != 0:
                    raise ConfigError(f"{pkg}: apt-get download failed: {res.stderr.strip().splitlines()[-1:]}")
            deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
            tmp = target.with_name(pkg + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.parent.mkdir(parents=True, exist_ok=True)  # dpkg -x makes the folder, not its parents
            res = subprocess.run(["dpkg", "-x", str(deb), str(tmp)], capture_output=True, text=True)
            if res.returncode != 0:
                raise ConfigError(f"{deb}: dpkg -x failed ({res.stderr.strip().splitlines()[-1:]}); delete the "
                                  "file to download it again")
            tmp.rename(target)
        copyright_file = next(target.glob("usr/share/doc/*/copyright"), None)
        if copyright_file is not None:
            (src_dir / "licenses").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(copyright_file, src_dir / "licenses" / f"{pkg}.copyright")
        out[pkg] = target
    return out


def debian_pieces(src_dir: Path, packages: list[str] | None = None) -> list[Piece]:
    """Every MIDI file of the Debian packages, sorted by id."""
    pieces = []
    for pkg, folder in fetch_debian(src_dir, packages).items():
        if pkg == "freedoom":
            folder = _wad_music(folder, src_dir / "x" / "freedoom-midi")
        for path in sorted(folder.rglob("*.mid")):
            pieces.append(Piece(f"{pkg}/{path.stem}", "midi", str(path), None, f"debian:{pkg}",
                                DEBIAN_PACKAGES[pkg], title=path.stem))
    return sorted(pieces, key=lambda p: p.piece_id)


def music21_pieces(meter: str) -> list[Piece]:
    """Scores of the free music21 collections whose time signature is ``meter`` ("3/4"), sorted by id."""
    from music21 import corpus

    pieces = {}
    for entry in corpus.search(meter, "timeSignature"):
        rel = str(entry.sourcePath)
        collection = rel.split("/")[0]
        if collection not in MUSIC21_COLLECTIONS:
            continue
        stem = rel.rsplit(".", 1)[0]
        piece_id = f"music21/{stem}" + (f"/{entry.number}" if entry.number is not None else "")
        title = str(entry.metadata.title or "") if entry.metadata is not None else ""
        pieces[piece_id] = Piece(piece_id, "music21", rel, None if entry.number is None else int(entry.number),
                                 f"music21:{collection}", MUSIC21_COLLECTIONS[collection], meter, title)
    return [pieces[k] for k in sorted(pieces)]


def _wad_music(folder: Path, out: Path) -> Path:
    """The MIDI music lumps of the WAD files under ``folder`` as ``out/<wad>/<lump>.mid`` (once)."""
    if out.is_dir():
        return out
    import omg

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    seen: set[str] = set()
    for wad_path in sorted(folder.rglob("*.wad")):
        wad = omg.WAD(str(wad_path))
        for name in sorted(wad.music.keys()):
            data = bytes(wad.music[name].data)
            digest = hashlib.sha1(data).hexdigest()
            if not data.startswith(b"MThd") or digest in seen:  # MUS lumps are left out
                continue
            seen.add(digest)
            (tmp / wad_path.stem).mkdir(parents=True, exist_ok=True)
            (tmp / wad_path.stem / f"{name.lower()}.mid").write_bytes(data)
    os.replace(tmp, out)
    return out
