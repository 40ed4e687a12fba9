"""Convert musicnn's TensorFlow 1 checkpoints to the torch tagger files in assets/tagger/.

    pip download --no-deps musicnn==0.1.0
    pip install --no-deps tensorflow-checkpoint-reader six
    python -m bgmatch.training.tools.convert_musicnn musicnn-0.1.0-py3-none-any.whl

Reads ``musicnn/MSD_musicnn/`` and ``musicnn/MTT_musicnn/`` from the wheel (or an unpacked
folder) with the pure-Python ``tensorflow-checkpoint-reader`` and writes ``musicnn_msd.pt``
and ``musicnn_mtt.pt`` (see :func:`bgmatch.engine.learned.tagger.save_tagger_weights`).
The reader is installed without its dependencies because it pins protobuf < 3.19, which the
rest of bgmatch's environment outgrew; it then needs the pure-Python protobuf back end and
three shims for names newer numpy and Python removed (``np.string_``, ``np.unicode_``,
``inspect.ArgSpec``), all set here only, never in the engine. Batch norm is kept as layers
(moving statistics copied), not folded. Only the network weights are copied; the optimiser's
Adam slots in the checkpoint are skipped.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import inspect
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.learned.tagger import TAGGER_KINDS, Musicnn, MusicnnConfig, TaggerKind, save_tagger_weights
from bgmatch.assets import asset_path

CHECKPOINTS: dict[TaggerKind, str] = {"msd": "MSD_musicnn", "mtt": "MTT_musicnn"}
CHECKPOINT_FILES = (".data-00000-of-00001", ".index", ".meta")


def _checkpoint_reader(prefix: str):
    """tensorflow-checkpoint-reader's reader for a checkpoint prefix, behind the compatibility shims."""
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")  # its _pb2 files predate protobuf 3.19
    if not hasattr(np, "string_"):
        np.string_ = np.bytes_
    if not hasattr(np, "unicode_"):
        np.unicode_ = np.str_
    if not hasattr(inspect, "ArgSpec"):
        inspect.ArgSpec = collections.namedtuple("ArgSpec", "args varargs keywords defaults")
    try:
        from tensorflow_checkpoint_reader.py_checkpoint_reader import NewCheckpointReader
    except ImportError as error:
        raise ConfigError(f"the conversion needs tensorflow-checkpoint-reader and six "
                          f"(pip install --no-deps tensorflow-checkpoint-reader six): {error}") from None
    return NewCheckpointReader(prefix)


def tf_to_torch_names() -> dict[str, str]:
    """Torch state-dict name → TensorFlow variable name (tf.compat.v1.layers' creation order in musicnn)."""
    bn = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}
    layers = [
        ("input_bn", "batch_normalization"),
        ("timbral.0.conv", "conv2d"), ("timbral.0.bn", "batch_normalization_1"),
        ("timbral.1.conv", "conv2d_1"), ("timbral.1.bn", "batch_normalization_2"),
        ("temporal.0.conv", "conv2d_2"), ("temporal.0.bn", "batch_normalization_3"),
        ("temporal.1.conv", "conv2d_3"), ("temporal.1.bn", "batch_normalization_4"),
        ("temporal.2.conv", "conv2d_4"), ("temporal.2.bn", "batch_normalization_5"),
        ("midend.0.conv", "conv2d_5"), ("midend.0.bn", "batch_normalization_6"),
        ("midend.1.conv", "conv2d_6"), ("midend.1.bn", "batch_normalization_7"),
        ("midend.2.conv", "conv2d_7"), ("midend.2.bn", "batch_normalization_8"),
        ("pool_bn", "batch_normalization_9"),
        ("dense", "dense"), ("dense_bn", "batch_normalization_10"),
        ("head", "dense_1"),
    ]
    names = {}
    for torch_name, tf_name in layers:
        if "batch_normalization" in tf_name:
            names.update({f"{torch_name}.{p}": f"{tf_name}/{q}" for p, q in bn.items()})
        else:
            names.update({f"{torch_name}.weight": f"{tf_name}/kernel", f"{torch_name}.bias": f"{tf_name}/bias"})
    return names


def _to_torch(name: str, value: np.ndarray, shape: torch.Size) -> torch.Tensor:
    """A TF variable in torch layout: conv kernels [kh, kw, in, out] → [out, in, kh, kw] (1-D: [out, in, k]), dense [in, out] → [out, in]."""
    array = np.asarray(value, np.float32)
    if name.endswith("kernel"):
        if array.ndim == 4:
            kh, kw, cin, cout = array.shape
            array = array.transpose(3, 2, 0, 1)
            if len(shape) == 3:  # mid-end: TF's conv2d over [time, all channels] is a 1-D conv over time
                array = array.reshape(cout, kh, kw).transpose(0, 2, 1)
        else:
            array = array.T
    tensor = torch.from_numpy(np.array(array, np.float32, order="C"))  # a writable copy
    if tensor.shape != shape:
        raise ConfigError(f"checkpoint variable {name} has shape {tuple(value.shape)}, the port expects {tuple(shape)}")
    return tensor


def convert_checkpoint(prefix: str) -> Musicnn:
    """A torch musicnn with the weights of the TF checkpoint at ``prefix`` (a path ending in ``/``)."""
    reader = _checkpoint_reader(prefix)
    available = reader.get_variable_to_shape_map()
    model = Musicnn(MusicnnConfig())
    state = model.state_dict()
    for torch_name, tf_name in tf_to_torch_names().items():
        if tf_name not in available:
            raise ConfigError(f"{prefix}: checkpoint lacks {tf_name}")
        state[torch_name] = _to_torch(tf_name, reader.get_tensor(tf_name), state[torch_name].shape)
    unused = [k for k in available if "Adam" not in k and k not in set(tf_to_torch_names().values())
              and k not in ("beta1_power", "beta2_power")]
    if unused:
        raise ConfigError(f"{prefix}: checkpoint variables not mapped: {', '.join(sorted(unused))}")
    model.load_state_dict(state)
    return model.eval()


def _extract_checkpoint(source: Path, folder: str, into: Path) -> str:
    """Checkpoint prefix of ``musicnn/<folder>/`` from a wheel (zip) or an unpacked wheel folder."""
    if source.is_dir():
        return str(source / "musicnn" / folder) + "/"
    with zipfile.ZipFile(source) as wheel:
        for name in CHECKPOINT_FILES:
            target = into / folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(wheel.read(f"musicnn/{folder}/{name}"))
        return str(into / folder) + "/"


def _tag_names(source: Path) -> dict[TaggerKind, list[str]]:
    """MSD_LABELS and MTT_LABELS from the wheel's configuration.py, read as literals (never executed)."""
    import ast

    text = (source / "musicnn" / "configuration.py").read_text() if source.is_dir() else \
        zipfile.ZipFile(source).read("musicnn/configuration.py").decode()
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(text).body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id.endswith("_LABELS")}
    return {"msd": values["MSD_LABELS"], "mtt": values["MTT_LABELS"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="musicnn-0.1.0-py3-none-any.whl, or the folder it was unzipped to")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the package's assets/tagger)")
    args = parser.parse_args(argv)
    if not args.wheel.exists():
        raise ConfigError(f"{args.wheel}: musicnn wheel not found")
    out = args.out or asset_path("tagger")
    digest = hashlib.sha256(args.wheel.read_bytes()).hexdigest() if args.wheel.is_file() else "unpacked folder"
    tags = _tag_names(args.wheel)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in TAGGER_KINDS:
            prefix = _extract_checkpoint(args.wheel, CHECKPOINTS[kind], Path(tmp))
            model = convert_checkpoint(prefix)
            path = save_tagger_weights(out / f"musicnn_{kind}.pt", model, kind=kind, tag_names=tags[kind],
                                       source=f"musicnn 0.1.0 wheel ({digest}), musicnn/{CHECKPOINTS[kind]}")
            n_params = sum(p.numel() for p in model.parameters())
            print(f"{path}: {n_params} parameters, {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
