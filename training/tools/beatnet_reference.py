"""Make ``tests/data/beatnet_reference.npz``: madmom's features and BeatNet's own activations.

Run ONCE in a throwaway environment that has madmom (built from source) and torch, with
BeatNet's wheel unzipped; never imported by bgmatch (madmom and BeatNet are not dependencies):

    # in bgmatch's environment: the clip, decoded exactly as the test decodes it
    python -c "import numpy as np; from bgmatch.engine.analysis.media import decode_audio; \\
        from bgmatch.assets import asset_path; \\
        np.save('/tmp/clip.npy', decode_audio(asset_path('demo', 'music', 'battle.opus'), \\
        sr_hz=22050, max_duration_s=3.0))"
    # in the throwaway environment
    PYTHONPATH=/tmp/BeatNet-unzipped python training/tools/beatnet_reference.py /tmp/clip.npy \\
        --beatnet-dir /tmp/BeatNet-unzipped \\
        --track battle.opus --duration-s 3.0 --out tests/data/beatnet_reference.npz

It computes the features with BeatNet's ``LOG_SPECT`` (madmom) exactly as BeatNet's offline
mode configures it, and the softmax of BeatNet's ``BDA`` network loaded with the wheel's
``model_3_weights.pt`` (the shipped one), so the test compares our reimplementation against the originals.
"""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("audio_npy", type=Path, help="mono float32 samples at 22050 Hz")
    p.add_argument("--beatnet-dir", type=Path, required=True,
                   help="folder of the unzipped BeatNet wheel (also on PYTHONPATH)")
    p.add_argument("--track", required=True, help="the demo track the clip was decoded from")
    p.add_argument("--duration-s", type=float, required=True)
    p.add_argument("--model", type=int, default=3)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    import torch

    model_module = importlib.import_module("BeatNet.model")
    log_spect = importlib.import_module("BeatNet.log_spect")
    sr_hz = 22050
    hop, win = int(20 * 0.001 * sr_hz), int(64 * 0.001 * sr_hz)  # as BeatNet.BeatNet.__init__
    proc = log_spect.LOG_SPECT(sample_rate=sr_hz, win_length=win, hop_size=hop, n_bands=[24], mode="offline")
    audio = np.load(args.audio_npy).astype(np.float32)
    features = proc.process_audio(audio).T.astype(np.float32)  # [T, 272]
    model = model_module.BDA(272, 150, 2, "cpu")
    weights = args.beatnet_dir / "BeatNet" / "models" / f"model_{args.model}_weights.pt"
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    model.eval()
    with torch.no_grad():  # as BeatNet.activation_extractor_online, all three classes kept
        preds = model.final_pred(model(torch.from_numpy(features).unsqueeze(0))[0])
    activations = preds.numpy().T.astype(np.float32)  # [T, 3]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, audio=audio, features=features, activations=activations,
                        track=np.array(args.track), duration_s=np.array(args.duration_s))
    print(f"wrote {args.out}: features {features.shape}, activations {activations.shape}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
