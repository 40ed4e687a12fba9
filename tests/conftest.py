"""Shared fixtures: real media fetched by tests/media/fetch.sh, and the bundled demo gallery."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def media_fetcher() -> Path:
    """The project's own media fetcher (``tests/media/fetch.sh``; a clone needs nothing beside it)."""
    return REPO / "tests" / "media" / "fetch.sh"


def media_dir() -> Path:
    """Where the real test media lives: ``$BGMATCH_MEDIA``, else ``~/.cache/bgmatch-media``."""
    return Path(os.environ.get("BGMATCH_MEDIA", Path.home() / ".cache" / "bgmatch-media"))


@pytest.fixture(scope="session")
def media_root() -> Path:
    """Folder with real music/, footage/ and photos/ (fetched once with :func:`media_fetcher` if absent)."""
    root = media_dir()
    if not (root / "music").is_dir() or not any((root / "music").rglob("*.ogg")):
        subprocess.run(["bash", str(media_fetcher()), str(root)], check=True)
    return root


@pytest.fixture(scope="session")
def music_files(media_root: Path) -> list[Path]:
    """Every fetched real music track, sorted."""
    return sorted(p for p in (media_root / "music").rglob("*") if p.suffix in {".ogg", ".opus"})


@pytest.fixture(scope="session")
def footage_dir(media_root: Path) -> Path:
    """Folder of real video clips."""
    return media_root / "footage"


@pytest.fixture(scope="session")
def demo_music() -> list[Path]:
    """The bundled demo gallery (assets/demo/music)."""
    files = sorted((REPO / "assets" / "demo" / "music").glob("*"))
    files = [f for f in files if f.suffix in {".ogg", ".opus"}]
    if not files:
        pytest.fail("assets/demo/music is empty")
    return files


def make_tiny_bundle(folder: Path, *, aligned_weight: float = 0.2, fusion_weight: float = 1.0, seed: int = 0) -> Path:
    """A randomly initialised, very small model bundle (real networks, real checkpoints)."""
    import torch

    from bgmatch.engine.learned.inputs import FeatureConfig
    from bgmatch.engine.learned.bundle import ScoreConfig, save_bundle
    from bgmatch.engine.learned.models import (MatchingConfig, MatchingModel, MusicEncoder, MusicEncoderConfig,
                                       VideoEncoder, VideoEncoderConfig)

    torch.manual_seed(seed)
    music = MusicEncoder(MusicEncoderConfig(d_model=32, n_layers=1, n_heads=4, subsample_channels=8, conv_kernel=7,
                                            n_targets=5, conv_norm="layer", dropout=0.0))
    video = VideoEncoder(VideoEncoderConfig(frame_px=64, d_model=32, n_layers=1, n_heads=4, stem_channels=8,
                                            conv_kernel=7, n_targets=5, conv_norm="layer", dropout=0.0))
    matching = MatchingModel(MatchingConfig(music_dim=32, video_dim=32, dim=16, n_heads=4, text_dim=12, dropout=0.0))
    return save_bundle(folder, music=music, video=video, matching=matching, features=FeatureConfig(frame_px=64),
                       score=ScoreConfig(pooled_weight=0.6, text_weight=0.4, aligned_weight=aligned_weight,
                                         fusion_weight=fusion_weight), extra={"note": "test"})


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory) -> Path:
    """Folder of a tiny random model bundle (see :func:`make_tiny_bundle`)."""
    return make_tiny_bundle(tmp_path_factory.mktemp("bundle") / "model")


@pytest.fixture(scope="session")
def tiny_bundle_factory():
    """:func:`make_tiny_bundle`, for tests that need bundles with other seeds or settings."""
    return make_tiny_bundle
