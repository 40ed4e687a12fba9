"""Reference tag probabilities from musicnn's original TensorFlow graphs, for the port's equivalence test.

Needs TensorFlow, so it runs in a throwaway environment, never in CI::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu torch av platformdirs librosa soundfile
    /tmp/tfvenv/bin/pip install --no-deps -e .
    /tmp/tfvenv/bin/python -m bgmatch.training.tools.musicnn_reference musicnn-0.1.0-py3-none-any.whl \\
        --media ~/.cache/bgmatch-media --out tests/engine/data/musicnn_reference.npz

For each track in :data:`TRACKS` it decodes ``duration_s`` from ``offset_s`` at 16 kHz with
bgmatch's own decoder, makes bgmatch's log-mel patches (the port's input pipeline), imports
the wheel's ``.meta`` graph of MSD_musicnn and MTT_musicnn with ``tf.compat.v1``, restores the
checkpoint and runs ``model/Sigmoid`` on the patches with ``is_training`` False. The ``.npz``
holds, per patch, the track's identity (root, relative path, offset, duration), the patch's
index, the mean and standard deviation of its log-mel (so a test can tell an input change
from a model change) and the probabilities of both graphs (``msd`` and ``mtt``, [n, 50]).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from bgmatch.assets import asset_path
from bgmatch.engine.learned.tagger import SR_HZ, TAGGER_KINDS, log_mel, mel_patches
from bgmatch.engine.analysis.media import decode_audio
from bgmatch.training.tools.convert_musicnn import CHECKPOINTS, _extract_checkpoint

OFFSET_S = 20.0
DURATION_S = 15.0
# (root, path under it): "assets" = the package's assets folder, "media" = $BGMATCH_MEDIA
TRACKS: tuple[tuple[str, str], ...] = (
    ("assets", "demo/music/battle.opus"),
    ("assets", "demo/music/nebula.opus"),
    ("assets", "demo/music/nunc-dimittis.opus"),
    ("media", "music/wesnoth-1.16-music/love_theme.ogg"),
    ("media", "music/singularity-music/Chimes They Fade.ogg"),
    ("media", "music/singularity-music/Apex Aleph.ogg"),
)


def track_path(root: str, relative: str, *, media: Path) -> Path:
    """The file of a reference track: under the assets folder or the media folder."""
    return (asset_path() if root == "assets" else media) / relative


def reference_patches(path: Path, *, offset_s: float, duration_s: float) -> np.ndarray:
    """bgmatch's log-mel patches [n, 187, 96] of ``duration_s`` of ``path`` from ``offset_s``."""
    y = decode_audio(path, sr_hz=SR_HZ, offset_s=offset_s, max_duration_s=duration_s)
    return mel_patches(log_mel(y, sr_hz=SR_HZ))[0]


def tf_probabilities(prefix: str, patches: np.ndarray) -> np.ndarray:
    """The original graph's sigmoid outputs [n, 50] for ``patches``, weights restored from ``prefix``."""
    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2

    tf.compat.v1.disable_eager_execution()
    meta = meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString(Path(prefix, ".meta").read_bytes())
    for node in meta.graph_def.node:
        # the training part of the graph carries shapes that newer TensorFlow rejects on import
        node.attr.pop("_output_shapes", None)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        saver = tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
        saver.restore(session, prefix)
        return session.run("model/Sigmoid:0", feed_dict={"model/Placeholder:0": patches,
                                                         "model/Placeholder_2:0": False})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="musicnn-0.1.0-py3-none-any.whl, or the folder it was unzipped to")
    parser.add_argument("--media", type=Path, required=True, help="the real media folder (BGMATCH_MEDIA)")
    parser.add_argument("--out", type=Path, required=True, help="the .npz to write")
    args = parser.parse_args(argv)
    rows: dict[str, list] = {k: [] for k in ("root", "path", "patch", "mel_mean", "mel_std")}
    all_patches = []
    for root, relative in TRACKS:
        patches = reference_patches(track_path(root, relative, media=args.media),
                                    offset_s=OFFSET_S, duration_s=DURATION_S)
        all_patches.append(patches)
        for i, patch in enumerate(patches):
            rows["root"].append(root)
            rows["path"].append(relative)
            rows["patch"].append(i)
            rows["mel_mean"].append(float(patch.mean()))
            rows["mel_std"].append(float(patch.std()))
    patches = np.concatenate(all_patches)
    probs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in TAGGER_KINDS:
            probs[kind] = tf_probabilities(_extract_checkpoint(args.wheel, CHECKPOINTS[kind], Path(tmp)), patches)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_name(f".{args.out.stem}.tmp.npz")
    np.savez_compressed(tmp_out, root=np.array(rows["root"]), path=np.array(rows["path"]),
                        patch=np.array(rows["patch"]), mel_mean=np.array(rows["mel_mean"], np.float64),
                        mel_std=np.array(rows["mel_std"], np.float64), offset_s=np.float64(OFFSET_S),
                        duration_s=np.float64(DURATION_S), **{k: v.astype(np.float32) for k, v in probs.items()})
    tmp_out.replace(args.out)
    print(f"{args.out}: {len(patches)} patches of {len(TRACKS)} tracks, tags of {', '.join(probs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
