"""Device choice, and CPU/GPU equivalence of features, encoders in batches and the index.

Every equivalence test runs on the CPU against an independent reference; its CUDA half runs
only where torch (or faiss) sees a GPU, and is skipped elsewhere, never faked.
"""
from __future__ import annotations

import copy

import librosa
import numpy as np
import pytest
import torch

from bgmatch.engine.learned.device import (ENV_VAR, default_batch_size, describe_device, encode_in_batches,
                                   faiss_use_gpu, pick_device)
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.analysis.features import MelConfig, log_mel
from bgmatch.engine.library.index import IndexConfig, WindowIndex, gpu_available
from bgmatch.engine.learned.models import create_model

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device visible to torch")
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


@pytest.fixture(autouse=True)
def _no_env_choice(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
def test_auto_picks_cpu_without_cuda_and_named_cuda_fails_clearly():
    assert pick_device(None) == torch.device("cpu") == pick_device("auto")
    with pytest.raises(ConfigError, match="no CUDA device"):
        pick_device("cuda")
    assert faiss_use_gpu(pick_device()) is False


@needs_cuda
def test_auto_picks_cuda_when_present():
    device = pick_device("auto")
    assert device.type == "cuda" and faiss_use_gpu(device) is None
    assert "cuda:" in describe_device(device)
    with pytest.raises(ConfigError, match="only"):
        pick_device(f"cuda:{torch.cuda.device_count()}")


def test_override_environment_and_unknown_names(monkeypatch):
    assert pick_device(" CPU ") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert pick_device(None) == torch.device("cpu")
    for bad in ("tpu", "gpu", "cuda:x", "meta"):
        with pytest.raises(ConfigError, match="device"):
            pick_device(bad)
    assert default_batch_size(torch.device("cpu")) < default_batch_size(torch.device("cuda"))
    assert describe_device(torch.device("cpu")).startswith("cpu (")


@pytest.fixture(scope="module")
def speech_like_audio(demo_music) -> np.ndarray:
    """Five seconds of a real track at 16 kHz (read with soundfile: the GPU machine has no PyAV)."""
    import soundfile

    y, sr = soundfile.read(demo_music[0], dtype="float32", always_2d=True, start=0, stop=None)
    y = y.mean(axis=1)[10 * sr: 15 * sr]
    return librosa.resample(y, orig_sr=sr, target_sr=16000).astype(np.float32)


@pytest.mark.parametrize("device", DEVICES)
def test_log_mel_on_device_matches_librosa(device, speech_like_audio):
    cfg = MelConfig()
    got = log_mel(speech_like_audio, config=cfg, device=device).cpu().numpy()
    ref = librosa.feature.melspectrogram(
        y=speech_like_audio.astype(np.float64), sr=cfg.sr_hz, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
        win_length=int(round(cfg.win_s * cfg.sr_hz)), window="hann", center=True, pad_mode="reflect",
        power=2.0, n_mels=cfg.n_mels)
    ref = np.log(np.maximum(ref, 1e-6)).T
    assert got.shape == ref.shape == (501, 80)
    loud = ref > np.log(1e-4)  # away from the floor, where float32 rounding cannot flip the clamp
    assert loud.mean() > 0.5
    np.testing.assert_allclose(got[loud], ref[loud], atol=2e-3)


def _one_by_one(model: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([model.embed_clips(x[None]) for x in inputs])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["music", "video"])
def test_encoder_in_batches_on_device_matches_cpu_one_by_one(kind, device):
    torch.manual_seed(0)
    model = create_model(kind, "small").eval()
    if kind == "music":
        inputs = torch.randn(7, 400, 80)
    else:
        inputs = torch.rand(7, 4, 128, 128)
    reference = _one_by_one(model, inputs)
    on_device = copy.deepcopy(model).to(device)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    got = encode_in_batches(on_device.embed_clips, inputs, device=torch.device(device), batch_size=3)
    assert got.device.type == "cpu" and got.dtype == torch.float32 and got.shape == reference.shape
    torch.testing.assert_close(got, reference, atol=1e-4 if device == "cpu" else 2e-3, rtol=1e-3)


def test_encode_in_batches_rejects_empty_and_bad_sizes():
    with pytest.raises(ConfigError, match="nothing"):
        encode_in_batches(lambda x: x, torch.zeros(0, 3), device=torch.device("cpu"))
    with pytest.raises(ConfigError, match="at least 1"):
        encode_in_batches(lambda x: x, torch.zeros(2, 3), device=torch.device("cpu"), batch_size=-1)


def _unit_rows(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.skipif(gpu_available(), reason="faiss sees a GPU here")
def test_index_asked_for_gpu_without_faiss_gpu_fails_clearly():
    vecs = _unit_rows(50, 8, 0)
    idx = WindowIndex.build(vecs, [str(i) for i in range(50)], np.zeros(50), generation=1,
                            config=IndexConfig(use_gpu=True))
    with pytest.raises(ConfigError, match="faiss-gpu"):
        idx.search(vecs[:2], 3)


@pytest.mark.skipif(not gpu_available(), reason="faiss has no GPU support or sees no device")
@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_index_on_gpu_returns_the_cpu_rows(kind):
    vecs = _unit_rows(20_000, 32, 1)
    ids = [str(i) for i in range(len(vecs))]
    config = IndexConfig(kind=kind, ivf_nlist=64, ivf_nprobe=64)
    cpu = WindowIndex.build(vecs, ids, np.zeros(len(vecs)), generation=1, config=IndexConfig(**{**config.__dict__, "use_gpu": False}))
    gpu = WindowIndex.build(vecs, ids, np.zeros(len(vecs)), generation=1, config=IndexConfig(**{**config.__dict__, "use_gpu": True}))
    queries = _unit_rows(64, 32, 2)
    cpu_scores, cpu_rows = cpu.search(queries, 10)
    gpu_scores, gpu_rows = gpu.search(queries, 10)
    assert gpu.info["gpu"] and not cpu.info["gpu"]
    np.testing.assert_allclose(gpu_scores, cpu_scores, atol=1e-4)
    assert (gpu_rows == cpu_rows).mean() > 0.99  # ties may swap
