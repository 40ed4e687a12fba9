"""Build the committed demo assets from the real media that ``tests/media/fetch.sh`` fetches.

    python -m bgmatch.training.beatcut.make_demo [MEDIA_ROOT] [--assets DIR]

Writes ``assets/demo/music/<slug>.opus`` (60-s excerpts of tracks from both music packages,
Ogg Opus 64 kb/s stereo 48 kHz, original tags kept), ``assets/demo/video.mp4`` (a silent video
edited on the beats of one excerpt, with ``video.json`` saying which and at what offset) and
``assets/LICENSES.md``.
"""
from __future__ import annotations

import argparse
import re
import urllib.parse
from pathlib import Path

import av
import numpy as np

from bgmatch.engine.errors import BgmatchError, MediaError
from bgmatch.engine.analysis.media import decode_audio, probe
from bgmatch.engine.analysis.rhythm import analyze_music

from .edit import EditConfig, EditManifest, edit_to_music
from .licenses import FOOTAGE_LICENSES, MUSIC_LICENSES, Excerpt, write_licenses
from .sources import find_footage

DEFAULT_MEDIA_ROOT = Path.home() / ".cache" / "bgmatch-media"
MUSIC_PACKAGES = ("wesnoth-1.16-music", "singularity-music")
MAX_MUSIC_BYTES = 25 * 1024 * 1024
MAX_VIDEO_BYTES = 5 * 1024 * 1024
_OPUS_RATE_HZ = 48000
_OPUS_FRAME = 960  # 20 ms
_FADE_S = 0.05
_KEPT_TAGS = ("title", "artist", "composer", "album", "date", "copyright")


def slugify(name: str) -> str:
    """``"A New Journey"`` → ``"a-new-journey"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def package_versions(media_root: Path) -> dict[str, str]:
    """Package → version, from the .deb and .whl file names in ``SOURCES.txt``."""
    versions: dict[str, str] = {}
    sources = media_root / "SOURCES.txt"
    if sources.exists():
        for line in sources.read_text().splitlines():
            parts = line.split()
            if len(parts) != 2:
                continue
            if parts[1].endswith(".deb"):  # name_version_arch.deb
                versions[parts[0]] = urllib.parse.unquote(parts[1].split("_")[1])
            elif parts[1].endswith(".whl"):  # dist-version-tags.whl
                versions[parts[0]] = parts[1].split("-")[1]
    return versions


def select_tracks(media_root: Path, *, n_tracks: int, min_duration_s: float) -> list[tuple[str, Path]]:
    """``n_tracks`` (package, file) pairs, split evenly over :data:`MUSIC_PACKAGES` and spread
    evenly over each package's tracks (sorted by name) that last at least ``min_duration_s``."""
    chosen: list[tuple[str, Path]] = []
    for i, pkg in enumerate(MUSIC_PACKAGES):
        want = n_tracks // len(MUSIC_PACKAGES) + (1 if i < n_tracks % len(MUSIC_PACKAGES) else 0)
        files = sorted((media_root / "music" / pkg).glob("*.ogg"), key=lambda p: p.name.lower())
        long_enough = [p for p in files if probe(p).duration_s >= min_duration_s]
        if len(long_enough) < want:
            raise MediaError(
                media_root / "music" / pkg, f"only {len(long_enough)} tracks of {min_duration_s:.0f} s or more"
            )
        picks = np.unique(np.round(np.linspace(0, len(long_enough) - 1, want)).astype(int))
        chosen += [(pkg, long_enough[j]) for j in picks]
    return chosen


def read_tags(path: Path) -> dict[str, str]:
    """The file's tags with lower-case keys (container and first audio stream together)."""
    with av.open(str(path), metadata_errors="ignore") as c:
        tags = {k.lower(): v for k, v in c.metadata.items()}
        if c.streams.audio:
            tags.update({k.lower(): v for k, v in c.streams.audio[0].metadata.items()})
    return tags


def decode_stereo(path: Path, *, start_s: float, duration_s: float) -> np.ndarray:
    """``duration_s`` of stereo float32 audio at 48 kHz from ``start_s``, shape ``[2, n]``."""
    y = decode_audio(path, sr_hz=_OPUS_RATE_HZ, offset_s=start_s, max_duration_s=duration_s, stereo=True)
    if y.shape[1] < int(round(duration_s * _OPUS_RATE_HZ)):
        raise MediaError(path, f"ends before {start_s + duration_s:.1f} s")
    return y


def encode_opus(y: np.ndarray, out: Path, *, bitrate_bps: int, tags: dict[str, str]) -> None:
    """Write stereo ``y`` (``[2, n]`` float32 at 48 kHz) as Ogg Opus with ``tags``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    # bitexact: a fixed Ogg serial number, so the same input gives the same bytes
    with av.open(str(part), "w", format="ogg", options={"fflags": "+bitexact"}) as c:
        stream = c.add_stream("libopus", rate=_OPUS_RATE_HZ, layout="stereo")
        stream.bit_rate = bitrate_bps
        stream.format = "flt"
        stream.options = {"vbr": "constrained"}  # unconstrained VBR overshoots 64 kb/s by up to 40 %
        for key, value in tags.items():
            c.metadata[key] = value
            stream.metadata[key] = value
        n = y.shape[1]
        for i, a in enumerate(range(0, n, _OPUS_FRAME)):
            block = np.zeros((2, _OPUS_FRAME), np.float32)
            block[:, : min(_OPUS_FRAME, n - a)] = y[:, a : a + _OPUS_FRAME]
            frame = av.AudioFrame.from_ndarray(block.T.reshape(1, -1).copy(), format="flt", layout="stereo")
            frame.sample_rate = _OPUS_RATE_HZ
            frame.pts = a
            c.mux(stream.encode(frame))
        c.mux(stream.encode(None))
    part.replace(out)


def make_excerpt(
    pkg: str, src: Path, out_dir: Path, *, start_s: float, duration_s: float, bitrate_bps: int, version: str
) -> Excerpt:
    """Cut, fade (50 ms) and encode one excerpt; returns where it came from."""
    original = read_tags(src)
    y = decode_stereo(src, start_s=start_s, duration_s=duration_s)
    fade = int(_FADE_S * _OPUS_RATE_HZ)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    y[:, :fade] *= ramp
    y[:, -fade:] *= ramp[::-1]
    tags = {k: original[k] for k in _KEPT_TAGS if k in original}
    tags.setdefault("title", src.stem)
    tags["license"] = MUSIC_LICENSES[pkg].tag
    tags["comment"] = (
        f"{duration_s:.0f} s excerpt from {start_s:.0f} s of {src.name} (Debian {pkg} {version}), "
        f"re-encoded to Opus {bitrate_bps // 1000} kb/s by bgmatch make_demo"
    )
    out = out_dir / f"{slugify(src.stem)}.opus"
    encode_opus(y, out, bitrate_bps=bitrate_bps, tags=tags)
    return Excerpt(pkg, src, out, tags)


def beat_clarity(path: Path, *, sr_hz: int = 22050) -> tuple[float, float]:
    """(mean onset strength at beats / mean onset strength, tempo in BPM) of a music file."""
    a = analyze_music(decode_audio(path, sr_hz=sr_hz), sr_hz=sr_hz)
    if len(a.beat_times_s) < 4:
        return 0.0, a.tempo_bpm
    frames = np.clip(np.round(a.beat_times_s * a.frame_rate_hz).astype(int), 0, len(a.onset_envelope) - 1)
    return float(a.onset_envelope[frames].mean() / (a.onset_envelope.mean() + 1e-8)), a.tempo_bpm


def _default_assets() -> Path:
    repo = Path(__file__).resolve().parents[2]
    return repo / "assets" if (repo / "pyproject.toml").exists() else Path("assets")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bgmatch.training.beatcut.make_demo", description=__doc__.split("\n")[0])
    p.add_argument(
        "media_root", nargs="?", type=Path, default=DEFAULT_MEDIA_ROOT, help="output of fetch.sh (default %(default)s)"
    )
    p.add_argument("--assets", type=Path, default=_default_assets(), help="assets folder (default %(default)s)")
    p.add_argument("--tracks", type=int, default=24, help="number of demo tracks (default %(default)s)")
    p.add_argument("--excerpt-start", type=float, default=20.0, help="excerpt start in each track, s")
    p.add_argument("--excerpt-length", type=float, default=60.0, help="excerpt length, s")
    p.add_argument("--bitrate", type=int, default=64000, help="Opus bit rate, bit/s")
    p.add_argument("--video-offset", type=float, default=12.0, help="where in the excerpt the video starts, s")
    p.add_argument("--video-length", type=float, default=30.0, help="demo video length, s")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--track", default=None, metavar="SLUG",
                   help="cut the video on this excerpt (e.g. nebula; default: the one whose beats are clearest)")
    # The demo shows a carefully cut video (cuts within a frame of the beat, few off it);
    # BeatCut's harder default lives in the benchmark, not in the demo.
    p.add_argument("--jitter-frames", type=int, default=1, help="cut jitter around beats, frames (default %(default)s)")
    p.add_argument("--off-beat-share", type=float, default=0.05, help="share of cuts off the beat (default %(default)s)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root: Path = args.media_root.expanduser()
    demo = args.assets / "demo"
    music_dir = demo / "music"
    try:
        versions = package_versions(root)
        picks = select_tracks(root, n_tracks=args.tracks, min_duration_s=args.excerpt_start + args.excerpt_length)
        for old in music_dir.glob("*.opus"):
            old.unlink()
        excerpts = []
        for pkg, src in picks:
            ex = make_excerpt(
                pkg, src, music_dir, start_s=args.excerpt_start, duration_s=args.excerpt_length,
                bitrate_bps=args.bitrate, version=versions.get(pkg, "?"),
            )
            print(f"{ex.out.name:34s} {ex.out.stat().st_size / 1e3:6.0f} kB  {pkg}/{src.name}")
            excerpts.append(ex)
        if len({e.out.name for e in excerpts}) != len(excerpts):
            raise BgmatchError("two demo tracks have the same slug")
        music_bytes = sum(e.out.stat().st_size for e in excerpts)
        if music_bytes > MAX_MUSIC_BYTES:
            raise BgmatchError(f"demo music is {music_bytes / 1e6:.1f} MB, over {MAX_MUSIC_BYTES / 1e6:.0f} MB")

        scores = {e.out: beat_clarity(e.out) for e in excerpts}
        if args.track is None:
            video_track = max(excerpts, key=lambda e: scores[e.out][0])
        else:
            named = [e for e in excerpts if e.out.stem == args.track]
            if not named:
                raise BgmatchError(f"--track {args.track}: no such demo excerpt "
                                   f"(one of {', '.join(sorted(e.out.stem for e in excerpts))})")
            video_track = named[0]
        clarity, tempo = scores[video_track.out]
        print(f"video on {video_track.out.name}: beat clarity {clarity:.2f}, {tempo:.0f} BPM")
        footage = find_footage(root, names=frozenset(FOOTAGE_LICENSES))
        manifest: EditManifest = edit_to_music(
            video_track.out, footage, out_path=demo / "video.mp4", offset_s=args.video_offset,
            duration_s=args.video_length,
            config=EditConfig(seed=args.seed, jitter_frames=args.jitter_frames, off_beat_share=args.off_beat_share),
            track_name=f"music/{video_track.out.name}",
        )
        video_bytes = (demo / "video.mp4").stat().st_size
        if video_bytes > MAX_VIDEO_BYTES:
            raise BgmatchError(f"demo video is {video_bytes / 1e6:.1f} MB, over {MAX_VIDEO_BYTES / 1e6:.0f} MB")
        write_licenses(
            args.assets / "LICENSES.md", excerpts=excerpts, manifest=manifest, versions=versions,
            excerpt_start_s=args.excerpt_start, excerpt_s=args.excerpt_length, bitrate_bps=args.bitrate,
        )
    except BgmatchError as exc:
        print(f"make_demo: {exc}")
        return 1
    print(f"music {music_bytes / 1e6:.1f} MB in {len(excerpts)} files; video {video_bytes / 1e6:.2f} MB, "
          f"{len(manifest.cut_times_s)} cuts, {len(manifest.shots)} shots")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
