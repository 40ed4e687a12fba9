"""The musicnn tagger port: equal to the original TensorFlow graphs on real music, and sane on the demo."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from bgmatch.engine.errors import ConfigError, ModelError
from bgmatch.engine.learned.tagger import (PATCH_FRAMES, SR_HZ, Musicnn, default_tagger_path, indexing_clip_budget,
                                           load_tagger,
                                           load_tagger_weights, log_mel, mel_patches, save_tagger_weights)
from bgmatch.engine.analysis.media import decode_audio
from bgmatch.training.tools.musicnn_reference import track_path

REFERENCE = Path(__file__).parent / "data" / "musicnn_reference.npz"


@pytest.fixture(scope="module")
def tagger_all():
    return load_tagger("all", device="cpu")


@pytest.fixture(scope="module")
def reference_audio(media_root):
    """The reference npz and the decoded 16 kHz audio of each of its real tracks."""
    ref = np.load(REFERENCE)
    tracks = list(dict.fromkeys(zip(ref["root"].tolist(), ref["path"].tolist())))
    audio = [decode_audio(track_path(root, relative, media=media_root), sr_hz=SR_HZ,
                          offset_s=float(ref["offset_s"]), max_duration_s=float(ref["duration_s"]))
             for root, relative in tracks]
    return ref, audio


def test_reference_input_is_our_log_mel(reference_audio):
    """The patches the reference was made from are the ones our pipeline makes from the real audio."""
    ref, audio = reference_audio
    assert len(audio) >= 5
    means = np.concatenate([mel_patches(log_mel(y, sr_hz=SR_HZ))[0].mean(axis=(1, 2)) for y in audio])
    np.testing.assert_allclose(means, ref["mel_mean"], atol=1e-4)


@pytest.mark.parametrize("kind", ["msd", "mtt"])
def test_port_matches_the_tensorflow_graph_on_real_tracks(kind, reference_audio):
    """Tag probabilities of every reference patch (6 real tracks) within 1e-4 of musicnn's own graph."""
    ref, audio = reference_audio
    tagger = load_tagger(kind, device="cpu")
    got = np.concatenate([tagger.tag(y, sr_hz=SR_HZ).clip_probs for y in audio])
    assert got.shape == ref[kind].shape == (30, 50)
    assert np.abs(got - ref[kind]).max() <= 1e-4
    assert ref[kind].max() > 0.3  # the reference is not a trivially flat output


def test_clip_and_track_tags_of_a_demo_track(tagger_all, demo_music):
    """92 merged tags per 3 s clip; the track is their mean; a tag both models have is their mean."""
    nebula = next(p for p in demo_music if p.stem == "nebula")
    y = decode_audio(nebula, sr_hz=22050)  # another rate: resampled to 16 kHz
    result = tagger_all.tag(y, sr_hz=22050, max_clips=5)
    assert result.clip_probs.shape == (5, len(result.tag_names)) == (5, 92)
    n_clips = len(y) / 22050 * SR_HZ // 256 // PATCH_FRAMES  # 20 in the 60 s excerpt
    np.testing.assert_allclose(result.clip_starts_s, np.round(np.linspace(0, n_clips - 1, 5)) * PATCH_FRAMES * 256 / SR_HZ,
                               rtol=1e-5)
    np.testing.assert_allclose(result.track_probs, result.clip_probs.mean(axis=0), rtol=1e-6)
    assert {"electronic", "techno"} & {name for name, _ in result.top(5)}
    msd, mtt = (load_tagger(k, device="cpu") for k in ("msd", "mtt"))
    y16 = decode_audio(nebula, sr_hz=SR_HZ, max_duration_s=6.5)
    both, one, other = (t.tag(y16, sr_hz=SR_HZ) for t in (tagger_all, msd, mtt))
    assert both.clip_probs.shape == (2, 92) and one.clip_probs.shape == other.clip_probs.shape == (2, 50)
    j = both.tag_names.index("electronic")
    expected = (one.clip_probs[:, one.tag_names.index("electronic")]
                + other.clip_probs[:, other.tag_names.index("electronic")]) / 2
    np.testing.assert_allclose(both.clip_probs[:, j], expected, atol=1e-6)
    k = both.tag_names.index("piano")  # MTT only
    np.testing.assert_allclose(both.clip_probs[:, k], other.clip_probs[:, other.tag_names.index("piano")], atol=1e-6)
    with pytest.raises(ConfigError, match="max_clips"):
        tagger_all.tag(y16, sr_hz=SR_HZ, max_clips=0)


def test_orchestral_and_electronic_tracks_get_their_tags(tagger_all, demo_music):
    """An orchestral piece leans to strings/classical, an electronic one to electronic/synth."""
    def probs(stem: str) -> dict[str, float]:
        path = next(p for p in demo_music if p.stem == stem)
        result = tagger_all.tag(decode_audio(path, sr_hz=SR_HZ, max_duration_s=30.0), sr_hz=SR_HZ, max_clips=4)
        return dict(zip(result.tag_names, result.track_probs.tolist()))
    orchestral, electronic = probs("nunc-dimittis"), probs("through-space")  # 4 clips of the first 30 s each
    for tag in ("strings", "violin", "classical"):
        assert orchestral[tag] > electronic[tag]
    for tag in ("electronic", "synth", "techno"):
        assert electronic[tag] > orchestral[tag]


def test_indexing_clip_budget():
    assert indexing_clip_budget(30.0) == 4  # short tracks: the minimum
    assert indexing_clip_budget(300.0) == 11  # 10 % of 100 clips of 3 s, rounded up
    assert indexing_clip_budget(300.0, coverage=1.0, min_clips=1) == 101


def test_short_audio_is_repeat_padded_to_one_clip(tagger_all, demo_music):
    y = decode_audio(demo_music[0], sr_hz=SR_HZ, max_duration_s=1.0)
    result = tagger_all.tag(y, sr_hz=SR_HZ)
    assert result.clip_probs.shape == (1, 92)
    assert np.all((result.clip_probs > 0) & (result.clip_probs < 1))


def test_bad_audio_is_refused(tagger_all):
    with pytest.raises(ConfigError, match="mono"):
        tagger_all.tag(np.zeros((2, 16000), np.float32), sr_hz=SR_HZ)
    with pytest.raises(ConfigError, match="mono"):
        tagger_all.tag(np.zeros(0, np.float32), sr_hz=SR_HZ)
    with pytest.raises(ConfigError, match="unknown tagger"):
        load_tagger("vgg")  # type: ignore[arg-type]


def test_weight_files_are_checked(tmp_path):
    model, tags = load_tagger_weights(default_tagger_path("mtt"))
    assert default_tagger_path("msd").stat().st_size < 4_000_000
    with pytest.raises(ModelError, match="not found"):
        load_tagger_weights(tmp_path / "none.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="junk.pt: not a torch tagger file"):
        load_tagger_weights(junk)
    hostile = tmp_path / "hostile.pt"
    torch.save({"format": "bgmatch-tagger", "object": Path("x")}, hostile)  # a class instance: refused unpickling
    with pytest.raises(ModelError, match="hostile.pt: refused to load unsafe pickle content"):
        load_tagger_weights(hostile)
    old = save_tagger_weights(tmp_path / "old.pt", model, kind="mtt", tag_names=tags, source="test")
    payload = torch.load(old, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, old)
    with pytest.raises(ModelError, match="format version 99"):
        load_tagger_weights(old)
    wrong = save_tagger_weights(tmp_path / "wrong.pt", model, kind="mtt", tag_names=tags, source="test")
    payload = torch.load(wrong, weights_only=True)
    payload["state_dict"]["head.weight"] = payload["state_dict"]["head.weight"][:10]
    torch.save(payload, wrong)
    with pytest.raises(ModelError, match="do not fit"):
        load_tagger_weights(wrong)
    saved = save_tagger_weights(tmp_path / "copy.pt", model, kind="mtt", tag_names=tags, source="test")
    again, again_tags = load_tagger_weights(saved)
    assert again_tags == tags and isinstance(again, Musicnn)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(demo_music):
    y = decode_audio(demo_music[0], sr_hz=SR_HZ, max_duration_s=30.0)
    cpu = load_tagger("all", device="cpu").tag(y, sr_hz=SR_HZ)
    cuda = load_tagger("all", device="cuda").tag(y, sr_hz=SR_HZ)
    assert np.abs(cpu.clip_probs - cuda.clip_probs).max() < 1e-3


@pytest.mark.skipif(not os.environ.get("BGMATCH_MUSICNN_WHEEL"),
                    reason="set BGMATCH_MUSICNN_WHEEL to the musicnn 0.1.0 wheel (and install tensorflow-checkpoint-reader)")
def test_conversion_reproduces_the_shipped_weights(tmp_path):
    from bgmatch.training.tools.convert_musicnn import main
    assert main([os.environ["BGMATCH_MUSICNN_WHEEL"], "--out", str(tmp_path)]) == 0
    for kind in ("msd", "mtt"):
        fresh, fresh_tags = load_tagger_weights(tmp_path / f"musicnn_{kind}.pt")
        shipped, shipped_tags = load_tagger_weights(default_tagger_path(kind))
        assert fresh_tags == shipped_tags
        assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), shipped.state_dict().values()))
