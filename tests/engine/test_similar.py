"""'More like this': synthetic tracks with known tempo and loudness, and the real demo gallery."""
from __future__ import annotations

import numpy as np
import pytest

from bgmatch.engine.analysis.rhythm import MusicAnalysis
from bgmatch.engine.library.similar import PROFILE_NAMES, similar_tracks, track_profile

RATE_HZ = 43.0


def synthetic(bpm: float, *, level: float, seconds: float = 60.0, jitter_s: float = 0.0, seed: int = 0) -> MusicAnalysis:
    """A track whose onsets and beats sit on a ``bpm`` grid, at loudness ``level`` (RMS)."""
    rng = np.random.default_rng(seed)
    grid = np.arange(0.3, seconds, 60.0 / bpm)
    beats = np.sort(grid + rng.normal(0, jitter_s, len(grid)))
    n = int(seconds * RATE_HZ)
    env = np.full(n, 0.1, np.float32) + rng.random(n).astype(np.float32) * 0.05
    env[np.clip((beats * RATE_HZ).astype(int), 0, n - 1)] = 2.0
    rms = np.full(n, level, np.float32) * (1 + 0.1 * np.sin(np.arange(n) / RATE_HZ))
    return MusicAnalysis(seconds, RATE_HZ, env, rms.astype(np.float32), beats, bpm)


def test_profile_shape_and_tempo_override():
    music = synthetic(120, level=0.1)
    p = track_profile(music)
    assert p.shape == (len(PROFILE_NAMES),)
    assert p[PROFILE_NAMES.index("tempo_octave")] == pytest.approx(1.0)
    assert p[PROFILE_NAMES.index("onset_rate_hz")] == pytest.approx(2.0, abs=0.1)  # one onset per beat
    halved = track_profile(music, tempo_bpm=60)
    assert halved[PROFILE_NAMES.index("tempo_octave")] == pytest.approx(0.0)


def test_same_tempo_and_loudness_ranks_first():
    profiles = {
        "query": track_profile(synthetic(120, level=0.2, seed=1)),
        "twin": track_profile(synthetic(121, level=0.19, seed=2)),
        "slow_quiet": track_profile(synthetic(75, level=0.02, seed=3)),
        "fast_quiet": track_profile(synthetic(160, level=0.02, seed=4)),
        "loose": track_profile(synthetic(120, level=0.2, jitter_s=0.08, seed=5)),
    }
    ranked = similar_tracks("query", profiles)
    order = [t for t, _ in ranked]
    # Same tempo and loudness first; a loose feel at the same tempo still beats other tempi.
    assert set(order[:2]) == {"twin", "loose"} and set(order[2:]) == {"slow_quiet", "fast_quiet"}
    assert "query" not in [t for t, _ in ranked]
    sims = [s for _, s in ranked]
    assert sims == sorted(sims, reverse=True) and all(0 < s <= 1 for s in sims)
    assert len(similar_tracks("query", profiles, top=2)) == 2
    del profiles["loose"]
    assert similar_tracks("query", profiles)[0][0] == "twin"


def test_identical_track_has_similarity_one():
    m = synthetic(100, level=0.1)
    ranked = similar_tracks("a", {"a": track_profile(m), "b": track_profile(m), "c": track_profile(synthetic(140, level=0.3))})
    assert ranked[0] == ("b", pytest.approx(1.0))


def test_unknown_query_raises():
    with pytest.raises(KeyError):
        similar_tracks("nope", {"a": track_profile(synthetic(100, level=0.1))})


def test_real_gallery_duplicate_is_most_similar(tmp_path, demo_music):
    from bgmatch.engine.library import Library

    with Library.open(tmp_path / "lib") as lib:
        lib.add(demo_music[:4])
        profiles = {t.track_id: track_profile(lib.music_analysis(t.track_id)) for t in lib.tracks()}
    query = next(iter(profiles))
    profiles["copy"] = profiles[query].copy()
    ranked = similar_tracks(query, profiles)
    assert ranked[0][0] == "copy" and ranked[0][1] == pytest.approx(1.0)
    assert all(np.isfinite(p).all() for p in profiles.values())
