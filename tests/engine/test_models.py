"""Tests for bgmatch.engine.learned.models: shapes, masks, determinism, gradients, checkpoints."""
from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import pytest
import torch

from bgmatch.engine.config import config_from_dict, config_to_dict
from bgmatch.engine.errors import ConfigError, ModelError
from bgmatch.engine.learned.models import (
    FORMAT,
    FORMAT_VERSION,
    Conformer,
    ConformerConfig,
    MatchingConfig,
    MatchingModel,
    MusicEncoder,
    MusicEncoderConfig,
    VideoEncoder,
    VideoEncoderConfig,
    create_model,
    load_model,
    named_config,
    save_model,
)
from bgmatch.engine.learned.models import checkpoint as checkpoint_module

N_MELS, N_FRAMES, FRAME_PX = 16, 24, 32

TINY_MUSIC = MusicEncoderConfig(n_mels=N_MELS, d_model=32, n_layers=2, n_heads=4, conv_kernel=7,
                                n_targets=10, subsample_channels=8, dropout=0.0)
TINY_VIDEO = VideoEncoderConfig(frame_px=FRAME_PX, patch_px=8, stem_channels=8, d_model=32, n_layers=2,
                                n_heads=4, conv_kernel=7, n_targets=10, dropout=0.0)
TINY_MATCHING = MatchingConfig(music_dim=32, video_dim=32, dim=16, n_heads=4, text_dim=12, dropout=0.0)

MASK = torch.tensor([[True, True, False], [True, False, False]])


def seeded(build, config, seed: int = 0):
    torch.manual_seed(seed)
    return build(config)


def music_clips(batch: int = 2, n_clips: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, n_clips, N_FRAMES, N_MELS, generator=torch.Generator().manual_seed(seed))


def video_clips(batch: int = 2, n_clips: int = 3, height: int = FRAME_PX, width: int = FRAME_PX,
                seed: int = 2) -> torch.Tensor:
    return torch.rand(batch, n_clips, 4, height, width, generator=torch.Generator().manual_seed(seed))


def clip_features(dim: int, batch: int = 2, n_clips: int = 3, seed: int = 3) -> torch.Tensor:
    return torch.randn(batch, n_clips, dim, generator=torch.Generator().manual_seed(seed))


def tokens(batch: int = 2, n_clips: int = 3, seed: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    rhythm = torch.stack([torch.randint(0, n, (batch, n_clips), generator=g) for n in (18, 49, 65)], dim=-1)
    return rhythm, torch.randint(0, 65, (batch, n_clips), generator=g)


# ---------------------------------------------------------------- conformer


@pytest.mark.parametrize("conv_norm", ["batch", "layer"])
@pytest.mark.parametrize("position", ["relative", "sinusoidal", "none"])
def test_conformer_keeps_shape_and_ignores_padded_frames(conv_norm, position):
    config = ConformerConfig(d_model=16, n_layers=2, n_heads=2, conv_kernel=5, conv_norm=conv_norm,
                             position=position, dropout=0.0)
    model = seeded(Conformer, config).eval()
    x = torch.randn(2, 10, 16)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[1, 6:] = False
    out = model(x, mask)
    assert out.shape == (2, 10, 16)
    changed = x.clone()
    changed[1, 6:] = 100.0
    out_changed = model(changed, mask)
    torch.testing.assert_close(out_changed[1, :6], out[1, :6])
    torch.testing.assert_close(out_changed[0], out[0])
    assert not torch.allclose(model(changed)[1, :6], out[1, :6])  # without the mask it leaks


def test_conformer_rejects_bad_config_and_input():
    with pytest.raises(ConfigError, match="divisible"):
        ConformerConfig(d_model=10, n_heads=3)
    with pytest.raises(ConfigError, match="odd"):
        ConformerConfig(conv_kernel=4)
    with pytest.raises(ValueError, match="expected input"):
        Conformer(ConformerConfig(d_model=16, n_layers=1, n_heads=2))(torch.randn(2, 5, 8))


# ---------------------------------------------------------------- encoders


def test_music_encoder_shapes_and_padded_clips():
    model = seeded(MusicEncoder, TINY_MUSIC).eval()
    out = model(music_clips(), MASK)
    assert out.clip_embeddings.shape == (2, 3, 32)
    assert out.tag_logits.shape == (2, 3, 10)
    assert torch.count_nonzero(out.clip_embeddings[~MASK]) == 0
    assert torch.count_nonzero(out.tag_logits[~MASK]) == 0
    assert torch.all(out.clip_embeddings[MASK].abs().sum(-1) > 0)
    unmasked = model(music_clips())
    torch.testing.assert_close(unmasked.clip_embeddings[MASK], out.clip_embeddings[MASK])
    all_valid = model(music_clips(), torch.ones(2, 3, dtype=torch.bool))
    torch.testing.assert_close(all_valid.clip_embeddings, unmasked.clip_embeddings)
    # any clip length works, including very short clips
    assert model(torch.randn(1, 2, 5, N_MELS)).clip_embeddings.shape == (1, 2, 32)


def test_music_encoder_padded_clips_stay_out_of_batch_norm_in_training():
    model = seeded(MusicEncoder, TINY_MUSIC).train()  # conv_norm "batch", dropout 0
    clips = music_clips()
    changed = clips.clone()
    changed[~MASK] = 50.0
    torch.testing.assert_close(model(changed, MASK).clip_embeddings, model(clips, MASK).clip_embeddings)


def test_music_encoder_rejects_wrong_mels_and_mask():
    model = seeded(MusicEncoder, TINY_MUSIC)
    with pytest.raises(ValueError, match="log-mel"):
        model(torch.randn(1, 2, N_FRAMES, N_MELS + 1))
    with pytest.raises(ValueError, match="mask"):
        model(music_clips(), MASK.float())


@pytest.mark.parametrize(("height", "width"), [(32, 32), (32, 48), (16, 64)])
def test_video_encoder_shapes_for_any_patch_multiple(height, width):
    model = seeded(VideoEncoder, TINY_VIDEO).eval()
    out = model(video_clips(height=height, width=width), MASK)
    assert out.clip_embeddings.shape == (2, 3, 32)
    assert out.tag_logits.shape == (2, 3, 10)
    assert torch.count_nonzero(out.clip_embeddings[~MASK]) == 0
    assert torch.all(out.clip_embeddings[MASK].abs().sum(-1) > 0)


def test_video_encoder_rejects_bad_frames():
    model = seeded(VideoEncoder, TINY_VIDEO)
    with pytest.raises(ValueError, match="divisible by 8"):
        model(video_clips(height=30))
    with pytest.raises(ValueError, match=r"\[N, 4, H, W\]"):
        model(torch.rand(1, 2, 3, 32, 32))
    with pytest.raises(ConfigError, match="frame_px"):
        VideoEncoderConfig(frame_px=100, patch_px=16)


def test_video_encoder_sees_frame_order():
    model = seeded(VideoEncoder, TINY_VIDEO).eval()
    clips = video_clips()
    reversed_frames = clips.flip(2)
    assert not torch.allclose(model(clips).clip_embeddings, model(reversed_frames).clip_embeddings)


@pytest.mark.parametrize("build", ["music", "video"])
def test_encoders_are_deterministic(build):
    make, config, clips = {
        "music": (MusicEncoder, TINY_MUSIC, music_clips()),
        "video": (VideoEncoder, TINY_VIDEO, video_clips()),
    }[build]
    first = seeded(make, config, seed=7).eval()
    second = seeded(make, config, seed=7).eval()
    other = seeded(make, config, seed=8).eval()
    out = first(clips, MASK).clip_embeddings
    torch.testing.assert_close(second(clips, MASK).clip_embeddings, out, rtol=0, atol=0)
    torch.testing.assert_close(first(clips, MASK).clip_embeddings, out, rtol=0, atol=0)
    assert not torch.allclose(other(clips, MASK).clip_embeddings, out)


def assert_every_parameter_has_gradient(model: torch.nn.Module) -> None:
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("build", ["music", "video"])
def test_encoder_gradients_reach_every_parameter(build):
    make, config, clips = {
        "music": (MusicEncoder, TINY_MUSIC, music_clips()),
        "video": (VideoEncoder, TINY_VIDEO, video_clips()),
    }[build]
    model = seeded(make, config).train()
    out = model(clips, MASK)
    loss = out.clip_embeddings.pow(2).mean() + torch.nn.functional.cross_entropy(
        out.tag_logits[MASK], torch.tensor([1, 2, 3])
    )
    loss.backward()
    assert_every_parameter_has_gradient(model)


# ---------------------------------------------------------------- matching


def matching_inputs():
    rhythm, flow = tokens()
    return clip_features(32, seed=5), clip_features(32, seed=6), rhythm, flow


def test_matching_forward_shapes_and_norms():
    model = seeded(MatchingModel, TINY_MATCHING).eval()
    video, music, rhythm, flow = matching_inputs()
    out = model(video, music, video_mask=MASK, music_mask=MASK, flow_tokens=flow, rhythm_tokens=rhythm,
                negative_music_index=torch.tensor([1, 0]))
    assert out.video.shape == out.music.shape == (2, 3, 16)
    assert out.video_pooled.shape == out.music_pooled.shape == (2, 16)
    torch.testing.assert_close(out.video_pooled.norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(out.music_pooled.norm(dim=-1), torch.ones(2))
    assert out.video_text.shape == out.music_text.shape == (2, 12)
    assert out.video_reconstruction.shape == (2, 3, 32)
    assert out.music_reconstruction.shape == (2, 3, 32)
    assert out.match_logits.shape == out.negative_match_logits.shape == (2,)
    assert torch.count_nonzero(out.video[~MASK]) == 0
    assert not torch.allclose(out.match_logits, out.negative_match_logits)
    # different clip counts per modality are allowed
    z = model.encode_music(clip_features(32, n_clips=5), mask=None)
    assert model.match_logits(out.video, z, video_mask=MASK).shape == (2,)


def test_matching_padded_clips_do_not_change_pooled_result():
    model = seeded(MatchingModel, TINY_MATCHING).eval()
    video, music, rhythm, flow = matching_inputs()
    pooled = model.pooled(model.encode_music(music, rhythm, MASK), MASK)
    changed, changed_rhythm = music.clone(), rhythm.clone()
    changed[~MASK] = 30.0
    changed_rhythm[~MASK] = 0
    torch.testing.assert_close(model.pooled(model.encode_music(changed, changed_rhythm, MASK), MASK), pooled)
    # the padded batch equals running the single item alone without padding
    alone = model.pooled(model.encode_music(music[1:, :1], rhythm[1:, :1]))
    torch.testing.assert_close(alone, pooled[1:], atol=1e-5, rtol=1e-5)
    video_pooled = model.pooled(model.encode_video(video, flow, MASK), MASK)
    changed_video = video.clone()
    changed_video[~MASK] = -30.0
    torch.testing.assert_close(model.pooled(model.encode_video(changed_video, flow, MASK), MASK), video_pooled)
    # and so for the match logits
    logits = model.match_logits(model.encode_video(video, flow, MASK), model.encode_music(music, rhythm, MASK),
                                video_mask=MASK, music_mask=MASK)
    logits_changed = model.match_logits(model.encode_video(changed_video, flow, MASK),
                                        model.encode_music(changed, rhythm, MASK), video_mask=MASK, music_mask=MASK)
    torch.testing.assert_close(logits_changed, logits)


def test_pooled_and_clip_similarity_values():
    x = torch.tensor([[[3.0, 0.0], [0.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    torch.testing.assert_close(MatchingModel.pooled(x, mask), torch.tensor([[0.6, 0.8]]))
    video = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    music = torch.tensor([[[2.0, 0.0], [0.0, -1.0]]])
    # aligned pairs: cos = 1 and -1; the third video clip has no partner
    torch.testing.assert_close(MatchingModel.clip_similarity(video, music), torch.tensor([0.0]))
    only_first = torch.tensor([[True, False]])
    torch.testing.assert_close(MatchingModel.clip_similarity(video, music, music_mask=only_first),
                               torch.tensor([1.0]))
    none_valid = torch.tensor([[False, False, True]])
    torch.testing.assert_close(MatchingModel.clip_similarity(video, music, video_mask=none_valid),
                               torch.tensor([0.0]))


def test_matching_tokens_switch_off_and_validate():
    video, music, rhythm, flow = matching_inputs()
    with_tokens = seeded(MatchingModel, TINY_MATCHING).eval()
    assert not torch.allclose(with_tokens.encode_music(music, rhythm), with_tokens.encode_music(music))
    assert not torch.allclose(with_tokens.encode_video(video, flow), with_tokens.encode_video(video))
    config = dataclasses.replace(TINY_MATCHING, use_rhythm_tokens=False, use_flow_tokens=False)
    without = seeded(MatchingModel, config).eval()
    assert not any("rhythm" in name or "flow" in name for name in without.state_dict())
    torch.testing.assert_close(without.encode_music(music, rhythm), without.encode_music(music))
    torch.testing.assert_close(without.encode_video(video, flow), without.encode_video(video))
    bad = rhythm.clone()
    bad[0, 0, 0] = 18  # beat count has 18 classes: 0..17
    with pytest.raises(ValueError, match="out of range"):
        with_tokens.encode_music(music, bad)
    with pytest.raises(ValueError, match="long tensor"):
        with_tokens.encode_video(video, flow.float())
    with pytest.raises(ValueError, match=r"\[B, n_clips, 32\]"):
        with_tokens.encode_video(clip_features(16))


def test_matching_without_clip_level_sees_only_the_file_mean():
    video, music, rhythm, flow = matching_inputs()
    config = dataclasses.replace(TINY_MATCHING, clip_level=False)
    model = seeded(MatchingModel, config).eval()
    clip_model = seeded(MatchingModel, TINY_MATCHING).eval()
    reversed_music, reversed_rhythm = music.flip(1), rhythm.flip(1)
    # Reordering the clips changes nothing without clip level (one mean per file) ...
    torch.testing.assert_close(model.encode_music(music, rhythm), model.encode_music(reversed_music, reversed_rhythm))
    torch.testing.assert_close(model.encode_video(video, flow), model.encode_video(video.flip(1), flow.flip(1)))
    # ... and does with it.
    assert not torch.allclose(clip_model.encode_music(music, rhythm),
                              clip_model.encode_music(reversed_music, reversed_rhythm))


def test_matching_is_deterministic_and_gradients_flow():
    video, music, rhythm, flow = matching_inputs()
    first = seeded(MatchingModel, TINY_MATCHING).eval()
    second = seeded(MatchingModel, TINY_MATCHING).eval()
    torch.testing.assert_close(first.encode_music(music, rhythm, MASK), second.encode_music(music, rhythm, MASK),
                               rtol=0, atol=0)
    model = seeded(MatchingModel, TINY_MATCHING).train()
    out = model(video, music, video_mask=MASK, music_mask=MASK, flow_tokens=flow, rhythm_tokens=rhythm,
                negative_music_index=torch.tensor([1, 0]))
    loss = (
        (out.video_pooled * out.music_pooled).sum()
        + out.video_text.pow(2).mean() + out.music_text.pow(2).mean()
        + (out.video_reconstruction - video)[MASK].pow(2).mean()
        + (out.music_reconstruction - music)[MASK].pow(2).mean()
        + torch.nn.functional.binary_cross_entropy_with_logits(
            torch.cat([out.match_logits, out.negative_match_logits]), torch.tensor([1.0, 1.0, 0.0, 0.0])
        )
    )
    loss.backward()
    assert_every_parameter_has_gradient(model)


def test_models_follow_the_device_and_dtype_of_their_inputs():
    """No tensor is created on a fixed device: "meta" stands in for CUDA, which CI lacks."""
    video, music, _, _ = matching_inputs()
    runs = [
        (lambda: MusicEncoder(TINY_MUSIC), lambda m, t: m(music_clips().to(**t)).clip_embeddings),
        (lambda: VideoEncoder(TINY_VIDEO), lambda m, t: m(video_clips().to(**t)).clip_embeddings),
        (lambda: MatchingModel(TINY_MATCHING), lambda m, t: m(video.to(**t), music.to(**t)).match_logits),
    ]
    for build, run in runs:
        assert run(build().to("meta").eval(), {"device": "meta"}).device.type == "meta"
        model = build().to(torch.float64).eval()
        assert run(model, {"dtype": torch.float64}).dtype == torch.float64


# ---------------------------------------------------------------- configs


def test_config_dict_round_trip_and_errors():
    for config in (TINY_MUSIC, TINY_VIDEO, TINY_MATCHING):
        assert config_from_dict(type(config), config_to_dict(config)) == config
    data = config_to_dict(TINY_MUSIC)
    with pytest.raises(ConfigError, match=r"^\[top level\] unknown key\(s\) 'bogus'; known: n_mels, d_model, "):
        config_from_dict(MusicEncoderConfig, {**data, "bogus": 1})
    with pytest.raises(ConfigError, match=r"^\[music\] d_model: expected int, got str '32'$"):
        config_from_dict(MusicEncoderConfig, {**data, "d_model": "32"}, where="music")
    with pytest.raises(ConfigError, match=r"^\[top level\] conv_norm: 'group' is not one of 'batch', 'layer'"):
        config_from_dict(MusicEncoderConfig, {**data, "conv_norm": "group"})
    with pytest.raises(ConfigError, match=r"^\[top level\] MusicEncoderConfig: n_targets must be > 0, got 0$"):
        config_from_dict(MusicEncoderConfig, {**data, "n_targets": 0})
    assert config_from_dict(MusicEncoderConfig, {**data, "dropout": 0}).dropout == 0.0
    with pytest.raises(ConfigError, match="unknown model config"):
        named_config("music", "huge")
    with pytest.raises(ConfigError, match="unknown model kind"):
        create_model("audio", "small")


def test_paper_configs_have_documented_widths():
    music = create_model("music", "paper")
    assert (music.config.n_mels, music.config.d_model, music.config.n_targets) == (80, 512, 663)
    assert len(music.conformer.blocks) == 6
    assert music.conformer.blocks[0].attention.n_heads == 8
    assert music.conformer.blocks[0].conv.depthwise.kernel_size == (31,)
    assert music.tag_head.weight.shape == (663, 512)
    video = create_model("video", "paper")
    assert (video.config.frames_per_clip, video.config.frame_px, video.config.d_model) == (4, 224, 256)
    assert len(video.conformer.blocks) == 10
    assert video.conformer.blocks[0].attention.n_heads == 16
    assert video.conformer.blocks[0].conv.depthwise.kernel_size == (31,)
    assert video.tag_head.weight.shape == (663, 256)
    matching = create_model("matching", "paper")
    assert (matching.config.music_dim, matching.config.video_dim, matching.config.dim) == (512, 256, 256)
    assert matching.rhythm_embeddings[0].num_embeddings == 18
    assert matching.rhythm_embeddings[1].num_embeddings == 49
    assert matching.rhythm_embeddings[2].num_embeddings == 65
    assert matching.flow_embedding.num_embeddings == 65
    assert matching.text_projection.out_features == 384


def test_small_configs_fit_the_size_budget(tmp_path):
    models = {kind: create_model(kind, "small") for kind in ("music", "video", "matching")}
    assert models["matching"].config.music_dim == models["music"].config.d_model
    assert models["matching"].config.video_dim == models["video"].config.d_model
    assert models["matching"].config.dim == 128
    n_parameters = sum(p.numel() for m in models.values() for p in m.parameters())
    assert 500_000 < n_parameters < 7_500_000
    total_bytes = 0
    for kind, model in models.items():
        total_bytes += save_model(tmp_path / f"{kind}.pt", model, model.config, kind=kind).stat().st_size
    assert total_bytes < 30 * 2**20


def test_small_video_accepts_its_frame_size():
    model = create_model("video", "small").eval()
    px = model.config.frame_px
    assert model(torch.rand(1, 1, 4, px, px)).clip_embeddings.shape == (1, 1, 96)


# ---------------------------------------------------------------- checkpoints


def trained_music() -> MusicEncoder:
    model = seeded(MusicEncoder, TINY_MUSIC).train()
    model(music_clips(seed=9))  # moves the BatchNorm running statistics off their defaults
    return model.eval()


@pytest.mark.parametrize("kind", ["music", "video", "matching"])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, kind):
    if kind == "music":
        model, run = trained_music(), (lambda m: m(music_clips(), MASK).clip_embeddings)
    elif kind == "video":
        model, run = seeded(VideoEncoder, TINY_VIDEO).eval(), (lambda m: m(video_clips(), MASK).tag_logits)
    else:
        video, music, rhythm, flow = matching_inputs()
        model = seeded(MatchingModel, TINY_MATCHING).eval()

        def run(m):
            return m(video, music, video_mask=MASK, music_mask=MASK, flow_tokens=flow,
                     rhythm_tokens=rhythm).match_logits
    path = save_model(tmp_path / "sub" / "model.pt", model, model.config, kind=kind, extra={"step": 12})
    loaded = load_model(path, kind=kind)
    assert loaded.kind == kind and loaded.config == model.config and loaded.extra == {"step": 12}
    assert type(loaded.model) is type(model) and not loaded.model.training
    torch.testing.assert_close(run(loaded.model), run(model), rtol=0, atol=0)
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp file left behind


def test_saved_file_is_plain_data(tmp_path):
    model = trained_music()
    extra = {"tags": ["calm", "epic"], "nested": {"lr": 1e-3, "ids": (1, 2)}, "centroid": torch.ones(3)}
    path = save_model(tmp_path / "m.pt", model, model.config, kind="music", extra=extra)
    payload = torch.load(path, weights_only=True)
    assert set(payload) == {"format", "format_version", "kind", "config", "state_dict", "extra"}
    assert (payload["format"], payload["format_version"], payload["kind"]) == (FORMAT, FORMAT_VERSION, "music")
    assert payload["config"] == dataclasses.asdict(TINY_MUSIC)
    assert all(type(t) is torch.Tensor and t.device.type == "cpu" for t in payload["state_dict"].values())
    assert load_model(path).extra["tags"] == ["calm", "epic"]


def test_save_rejects_mismatches_and_unsafe_extra(tmp_path):
    music = seeded(MusicEncoder, TINY_MUSIC)
    with pytest.raises(ModelError, match="needs a VideoEncoder"):
        save_model(tmp_path / "a.pt", music, music.config, kind="video")
    with pytest.raises(ModelError, match="does not match"):
        save_model(tmp_path / "a.pt", music, dataclasses.replace(TINY_MUSIC, n_targets=11), kind="music")
    with pytest.raises(ModelError, match=r"extra\['when'\] is a \w*Path, not plain data"):
        save_model(tmp_path / "a.pt", music, music.config, kind="music", extra={"when": Path("x")})
    with pytest.raises(ModelError, match="unknown model kind"):
        save_model(tmp_path / "a.pt", music, music.config, kind="audio")
    assert not (tmp_path / "a.pt").exists()


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    model = trained_music()
    path = save_model(tmp_path / "m.pt", model, model.config, kind="music")
    before = path.read_bytes()

    def broken_save(obj, handle):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, model, model.config, kind="music")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def write_payload(path: Path, **changes) -> Path:
    model = seeded(MusicEncoder, TINY_MUSIC)
    save_model(path, model, model.config, kind="music")
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    torch.save(payload, path)
    return path


def test_load_errors_name_the_file_and_reason(tmp_path):
    cases = {
        "missing": (tmp_path / "missing.pt", "no such model file"),
        "text": (tmp_path / "text.pt", "not a torch checkpoint"),
        "empty": (tmp_path / "empty.pt", "not a torch checkpoint"),
        "tensor": (tmp_path / "tensor.pt", "not a bgmatch model checkpoint"),
        "format": (write_payload(tmp_path / "format.pt", format="other-model"), "'other-model'"),
        "newer": (write_payload(tmp_path / "newer.pt", format_version=FORMAT_VERSION + 1), "newer"),
        "version": (write_payload(tmp_path / "version.pt", format_version="1"), "invalid format_version"),
        "kind": (write_payload(tmp_path / "kind.pt", kind="audio"), "unknown model kind 'audio'"),
        "state": (write_payload(tmp_path / "state.pt", state_dict={}), "Missing key"),
        "no_state": (write_payload(tmp_path / "no_state.pt", state_dict=[1, 2]), "state_dict"),
    }
    (tmp_path / "text.pt").write_text("this is not a checkpoint")
    (tmp_path / "empty.pt").write_bytes(b"")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    for name, (path, reason) in cases.items():
        with pytest.raises(ModelError, match=reason) as caught:
            load_model(path)
        assert str(caught.value).startswith(f"{path}: "), name


def test_load_rejects_unknown_and_invalid_config_keys(tmp_path):
    config = config_to_dict(TINY_MUSIC)
    path = write_payload(tmp_path / "unknown.pt", config={**config, "n_experts": 4})
    with pytest.raises(ModelError, match=r"unknown\.pt: \[config\] unknown key\(s\) 'n_experts'; known: n_mels"):
        load_model(path)
    path = write_payload(tmp_path / "invalid.pt", config={**config, "n_heads": 5})
    with pytest.raises(ModelError, match=r"invalid\.pt: \[config\] .*not divisible by n_heads"):
        load_model(path)
    path = write_payload(tmp_path / "shape.pt", config={**config, "n_targets": 11})
    with pytest.raises(ModelError, match="do not fit"):
        load_model(path)


def test_load_checks_the_expected_kind(tmp_path):
    model = seeded(VideoEncoder, TINY_VIDEO)
    path = save_model(tmp_path / "video.pt", model, model.config, kind="video")
    with pytest.raises(ModelError, match="holds a 'video' model, expected 'music'"):
        load_model(path, kind="music")


class _Bomb:
    """Unpickling this calls ``os.mkdir(marker)``: a harmless stand-in for ``os.system``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_load_refuses_a_pickle_bomb_without_running_it(tmp_path, writer):
    marker = tmp_path / "bomb-went-off"
    path = tmp_path / "bomb.pt"
    payload = {"format": FORMAT, "format_version": 1, "kind": "music", "state_dict": _Bomb(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        with open(path, "wb") as handle:
            pickle.dump(payload, handle, protocol=2)
    with pytest.raises(ModelError, match="refused to load unsafe pickle content") as caught:
        load_model(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert not marker.exists()
    # the file really is a bomb: an unsafe loader would have run it
    if writer == "torch":
        torch.load(path, weights_only=False)
    else:
        with open(path, "rb") as handle:
            pickle.load(handle)
    assert marker.is_dir()
