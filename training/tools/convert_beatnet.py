"""Convert BeatNet's CRNN weights from its PyPI wheel into ``assets/beats/beatnet.pt``.

    pip download --no-deps beatnet==1.1.3 -d /tmp/beatnet
    python -m bgmatch.training.tools.convert_beatnet /tmp/beatnet/BeatNet-1.1.3-py3-none-any.whl

The wheel's ``BeatNet/models/model_N_weights.pt`` files (three trainings; we ship model 3) are
plain torch state dicts (BeatNet's
``BDA`` network; CC BY 4.0, Mojtaba Heydari); they are read straight from the zip with
``torch.load(weights_only=True)``, loaded strictly into :class:`BeatNetCRNN` and written as a
bgmatch weights file (plain state dict + config + origin), atomically. Run once; the result is
committed.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from dataclasses import asdict
from pathlib import Path

import torch

from bgmatch.engine.analysis.beatnet import FORMAT, FORMAT_VERSION, BeatNetCRNN, default_weights_path
from bgmatch.engine.learned.models.checkpoint import atomic_torch_save

LICENSE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
ATTRIBUTION = (
    "BeatNet CRNN weights by Mojtaba Heydari, Frank Cwitkowitz, Zhiyao Duan "
    "(BeatNet, ISMIR 2021, https://github.com/mjhydri/BeatNet), CC BY 4.0; converted to bgmatch's format"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("wheel", type=Path, help="BeatNet-1.1.3-py3-none-any.whl (from pip download)")
    p.add_argument("--model", type=int, choices=(1, 2, 3), default=3,
                   help="BeatNet's model number (3, the shipped one, scored best on the tuning half "
                        "of the rendered-MIDI beat benchmark; 1 is BeatNet's own default)")
    p.add_argument("--out", type=Path, default=None, help="output file (default: assets/beats/beatnet.pt)")
    return p.parse_args(argv)


def read_wheel_state_dict(wheel: Path, model: int) -> tuple[dict[str, torch.Tensor], str, str]:
    """The state dict of ``model_<model>_weights.pt`` in ``wheel``, its member name and sha256."""
    member = f"BeatNet/models/model_{model}_weights.pt"
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(member)
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    return dict(state), member, hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        state, member, digest = read_wheel_state_dict(args.wheel, args.model)
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        print(f"{args.wheel}: cannot read BeatNet weights: {error}", file=sys.stderr)
        return 1
    model = BeatNetCRNN()
    model.load_state_dict(state, strict=True)
    out = args.out or default_weights_path()
    atomic_torch_save({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": asdict(model.config),
        "state_dict": {name: t.detach().clone() for name, t in model.state_dict().items()},
        "extra": {
            "source": f"{args.wheel.name}:{member}",
            "source_sha256": digest,
            "license": LICENSE,
            "attribution": ATTRIBUTION,
        },
    }, out)
    print(f"wrote {out} ({out.stat().st_size} bytes) from {args.wheel.name}:{member}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
