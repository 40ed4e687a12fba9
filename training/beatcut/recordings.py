"""Real recordings for the ground-truth BeatCut gallery, and their independent beat reference.

Debian packages of game music (:data:`RECORDING_PACKAGES`) are fetched without installing them
(:func:`bgmatch.training.beats.sources.fetch_debian`: ``apt-get download`` + ``dpkg -x``, each
package's ``copyright`` file copied to ``SRC/licenses/``); their music files are linked into
``SRC/music/<package>/`` (Nexuiz's are unpacked from its ``music.pk3`` zip). Packages whose music
is not in a format libsndfile decodes (fb-music-high's tracker module, xblast-tnt-musics' raw
PCM) are not used.

The reference beats and downbeats of a recording are madmom's (``RNNDownBeatProcessor`` +
``DBNDownBeatTrackingProcessor``, a state-of-the-art tracker unrelated to bgmatch's), computed
by ``training/beats/madmom_reference.py --downbeats`` in a separate environment and cached as
JSON; they are used only to build and to measure, never shipped (madmom's models are
CC BY-NC-SA) and never read by the engine.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bgmatch.engine.errors import ConfigError

from ..beats.sources import fetch_debian


@dataclass(frozen=True)
class RecordingPackage:
    """A Debian package of recorded music: where its tracks are and under which license."""

    license: str
    pattern: str  # glob under the unpacked package, or ``zip:<glob of the zip>:<prefix inside>``
    skip: tuple[str, ...] = ()  # file names that are no music (jingles, effects)


#: Debian package → its music. Licenses read from each package's copyright file.
RECORDING_PACKAGES: dict[str, RecordingPackage] = {
    "wesnoth-1.16-music": RecordingPackage(
        "GPL-2.0-or-later (The Battle for Wesnoth's composers; Debian package wesnoth-1.16-music)",
        "usr/share/games/wesnoth/*/data/core/music/*.ogg"),
    "singularity-music": RecordingPackage(
        "CC BY-SA 3.0 (Max McCracken; Debian package singularity-music)", "usr/share/games/singularity/music/**/*.ogg"),
    "hyperrogue-music": RecordingPackage(
        "CC BY-SA 3.0 (Shawn Parrotte, Lincoln Domina, Will Savino; Debian package hyperrogue-music)",
        "usr/share/hyperrogue/music/*.ogg"),
    "nexuiz-music": RecordingPackage(
        "GPL-2.0-or-later (Nexuiz's composers; Debian package nexuiz-music)",
        "zip:usr/share/games/nexuiz/data/music.pk3:sound/cdtracks/", skip=("thunder.ogg",)),
    "drascula-music": RecordingPackage(
        "Drascula license, BSD-like, redistribution and modification allowed (© 1996-2008 Alcachofa Soft S.L.; "
        "Debian package drascula-music)", "usr/share/scummvm/drascula/audio/*.ogg"),
}


def fetch_recordings(src_dir: Path, packages: list[str] | None = None) -> dict[str, Path]:
    """Fetch each package (once) and link its music into ``src_dir/music/<package>/``; ``{package: folder}``."""
    names = packages or list(RECORDING_PACKAGES)
    unknown = sorted(set(names) - set(RECORDING_PACKAGES))
    if unknown:
        raise ConfigError(f"unknown recording package(s) {', '.join(unknown)} (have {', '.join(RECORDING_PACKAGES)})")
    unpacked = fetch_debian(src_dir, names)
    out: dict[str, Path] = {}
    for pkg in names:
        spec, target = RECORDING_PACKAGES[pkg], src_dir / "music" / pkg
        if not target.is_dir():
            tmp = target.with_name(pkg + ".tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            if spec.pattern.startswith("zip:"):
                _, zip_glob, prefix = spec.pattern.split(":")
                for archive in sorted(unpacked[pkg].glob(zip_glob)):
                    with zipfile.ZipFile(archive) as zf:
                        for member in zf.namelist():
                            name = member.removeprefix(prefix)
                            if member.startswith(prefix) and name.endswith(".ogg") and "/" not in name:
                                (tmp / name).write_bytes(zf.read(member))
            else:
                for path in sorted(unpacked[pkg].glob(spec.pattern)):
                    (tmp / path.name).unlink(missing_ok=True)
                    (tmp / path.name).symlink_to(path.resolve())
            for name in spec.skip:
                (tmp / name).unlink(missing_ok=True)
            if not any(tmp.iterdir()):
                raise ConfigError(f"{pkg}: no music files matched {spec.pattern!r}")
            os.replace(tmp, target)
        out[pkg] = target
    return out


@dataclass(frozen=True)
class Reference:
    """Independent beats and downbeats of one recording, seconds from its start."""

    beats_s: tuple[float, ...]
    downbeats_s: tuple[float, ...]


REFERENCE_GLOB = "madmom-downbeats*.json"


def read_references(src_dir: Path) -> dict[str, Reference]:
    """The caches written by ``madmom_reference.py SRC/music --downbeats --out SRC/madmom-downbeats….json``
    (several runs may share the work with ``--include``): ``package/file`` → :class:`Reference`."""
    paths = sorted(src_dir.glob(REFERENCE_GLOB))
    if not paths:
        raise ConfigError(f"{src_dir}: no madmom reference; run /tmp/mmvenv/bin/python "
                          f"training/beats/madmom_reference.py {src_dir / 'music'} --downbeats --max-s 0 "
                          f"--out {src_dir / 'madmom-downbeats.json'}")
    out: dict[str, Reference] = {}
    for path in paths:
        try:
            doc = json.loads(path.read_text())
            out.update({k: Reference(tuple(v["beats"]), tuple(v["downbeats"])) for k, v in doc.items()})
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a madmom downbeat reference ({exc})") from None
    return out
