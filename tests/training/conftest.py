"""Fixtures for the training tests: short "edited videos with music" made from real media."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from bgmatch.engine.output.export import ExportConfig, export
from bgmatch.engine.analysis.media import probe

#: (footage file, start s) of the edited videos; different shots so every pair is distinct.
SHOTS = [("box.mp4", 0.0), ("cup.mp4", 0.0), ("bikes.mp4", 1.0), ("Megamind.avi", 1.0),
         ("tree.avi", 4.0), ("vtest.avi", 10.0), ("box.mp4", 7.0), ("vtest.avi", 40.0)]


def trim_silent(source: Path, out: Path, *, start_s: float, duration_s: float, width_px: int = 256,
                fps: int = 12) -> Path:
    """Re-encode ``duration_s`` of ``source`` from ``start_s`` as a small silent H.264 MP4."""
    with av.open(str(source)) as inp, av.open(str(out), "w", format="mp4") as dst:
        src = inp.streams.video[0]
        height = int(round(src.codec_context.height * width_px / src.codec_context.width / 2)) * 2
        stream = dst.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width_px, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28"}
        last_pts = -1
        for frame in inp.decode(src):
            t = float(frame.time or 0.0)
            pts = int(round((t - start_s) * fps))
            if pts <= last_pts or t < start_s:
                continue
            if t >= start_s + duration_s:
                break
            last_pts = pts
            image = frame.reformat(width=width_px, height=height, format="yuv420p")
            image.pts, image.time_base = pts, Fraction(1, fps)
            for packet in stream.encode(image):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return out


def make_edited_videos(folder: Path, footage_dir: Path, music_files: list[Path], *, n: int = 8,
                       duration_s: float = 8.0, seed: int = 0) -> list[Path]:
    """``n`` videos cut from real footage, each with a different real track (from a seeded offset) as sound."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    long_enough = [m for m in music_files if probe(m).duration_s >= 40.0]
    tracks = [long_enough[i] for i in rng.choice(len(long_enough), size=n, replace=False)]
    out = []
    for i, ((name, start_s), track) in enumerate(zip(SHOTS[:n], tracks)):
        silent = trim_silent(footage_dir / name, folder / f".silent{i}.mp4", start_s=start_s, duration_s=duration_s)
        out.append(export(silent, track, offset_s=float(rng.uniform(5.0, 20.0)), out_path=folder / f"edit{i:02d}.mp4",
                          config=ExportConfig(sr_hz=22050, bitrate=64_000)))
        silent.unlink()
    return out


@pytest.fixture(scope="session")
def edited_videos(tmp_path_factory, footage_dir, music_files) -> Path:
    """A folder of 8 real 8-s "edited videos with music" (the folder format)."""
    folder = tmp_path_factory.mktemp("edits") / "videos"
    make_edited_videos(folder, footage_dir, music_files)
    return folder


#: Split and tags of the edited videos (the folder format's optional CSV).
TAGS_CSV = """file,tags,split
edit00.mp4,calm;indoor,train
edit01.mp4,calm;close-up,train
edit02.mp4,energetic;outdoor,train
edit03.mp4,cartoon;energetic,train
edit04.mp4,outdoor;nature,train
edit05.mp4,street;busy,train
edit06.mp4,calm;indoor,valid
edit07.mp4,street;busy,valid
"""


def tiny_config(out_dir: Path, *, root: Path, prepared_dir: Path, **tables: dict) -> dict:
    """A tiny training configuration (as a TOML-like dict) over the edited videos."""
    config = {
        "run": {"out_dir": str(out_dir), "seed": 0, "device": "cpu", "threads": 1},
        "data": {"format": "folder", "root": str(root), "videos": "videos", "tags_csv": "tags.csv",
                 "prepared_dir": str(prepared_dir)},
        "features": {"frame_px": 64},
        "targets": {"source": "pseudo"},
        "model": {
            "name": "small",
            "music": {"d_model": 32, "n_layers": 1, "n_heads": 4, "subsample_channels": 16, "conv_kernel": 15,
                      "dropout": 0.0},
            "video": {"d_model": 32, "n_layers": 1, "n_heads": 4, "stem_channels": 8, "conv_kernel": 15,
                      "dropout": 0.0},
            "matching": {"dim": 32, "n_heads": 4, "dropout": 0.0},
        },
        "pretrain": {"steps": 12, "batch_size": 8, "log_every": 3, "checkpoint_every": 5},
        "match": {"steps": 120, "batch_size": 6, "lr": 1e-3, "log_every": 10, "checkpoint_every": 20,
                  "valid_every": 40},
        "eval": {"splits": ["valid"]},
    }
    for table, values in tables.items():
        config[table] = {**config.get(table, {}), **values}
    return config


@pytest.fixture(scope="session")
def edits_root(edited_videos: Path) -> Path:
    """Data root holding videos/ (the edited videos) and tags.csv."""
    root = edited_videos.parent
    (root / "tags.csv").write_text(TAGS_CSV)
    return root


@pytest.fixture(scope="session")
def prepared_dir(edits_root: Path, tmp_path_factory) -> Path:
    """The edited videos prepared once (features, tags and pseudo-targets, text embeddings)."""
    from bgmatch.training.config import parse_config
    from bgmatch.training.prepare import prepare

    folder = tmp_path_factory.mktemp("prepared") / "prepared"
    config = parse_config(tiny_config(folder.parent / "run", root=edits_root, prepared_dir=folder))
    report = prepare(config, show_bar=False)
    assert not report.failed, report.failed
    return folder


@pytest.fixture(scope="session")
def reference_run(edits_root: Path, prepared_dir: Path, tmp_path_factory):
    """One uninterrupted tiny training run: (config dict, TrainResult, progress events)."""
    from bgmatch.training.config import parse_config
    from bgmatch.training.pipeline import train

    data = tiny_config(tmp_path_factory.mktemp("reference"), root=edits_root, prepared_dir=prepared_dir)
    events: list[dict] = []
    result = train(parse_config(data), events.append, show_bar=False)
    return data, result, events
