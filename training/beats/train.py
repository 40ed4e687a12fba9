"""Fine-tune BeatNet's CRNN on the rendered-MIDI training set (:mod:`.trainset`), on CPU.

    bgmatch train beats build [--out DIR] [--items N] [--keep-apart BEATCUT] [--workers 2]   render the training set
    bgmatch train beats fit [--data DIR] [--run DIR] [--epochs N] [--real-ref REF --real-folder DIR]
                                                                        fine-tune (resumes)
    bgmatch train beats eval --weights FILE [--out BENCH] [--json FILE] score it on the benchmark
    bgmatch train beats agree REF.json FOLDER [--weights FILE]         agreement on real recordings

The network is the shipped one (:class:`bgmatch.engine.analysis.beatnet.BeatNetCRNN`), started
from the shipped weights. Each step takes random excerpts (``seq_s``) of training items, colours
the audio afresh (:func:`.augment.augment_audio`), computes BeatNet's features and fits the three
classes per frame (beat, downbeat, none) with cross-entropy; the frames either side of a beat
count half as a beat (target widening, as madmom's trackers are trained). Items whose file states
no meter train "a beat, either kind" (the log of the summed probability). After every epoch the
whole tracker (network + the engine's DBN) is scored on the held-out pieces (``split == "val"``);
the best epoch is exported in the engine's weights format (best on real recordings instead, with
``--real-ref``: :mod:`.realval`). Seeded; a rerun resumes after the last
finished epoch (``RUN/last.pt``, read with ``torch.load(weights_only=True)``); a larger ``--epochs``
makes it longer, as if it had been asked for from the start (each epoch's draws are seeded by its number).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bgmatch.engine.analysis import beatnet
from bgmatch.engine.errors import BgmatchError, ConfigError
from bgmatch.engine.learned.models.checkpoint import atomic_torch_save
from bgmatch.engine.weights import load_payload

from .augment import augment_audio
from .layout import BeatItem, default_trainset_dir, load_set
from .realval import load_real_validation, rendered_validation, score_clips

BEAT, DOWNBEAT, NONE = 0, 1, 2  # BeatNet's logit order
LICENSE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
ATTRIBUTION = (
    "Fine-tuned by bgmatch from BeatNet's CRNN weights by Mojtaba Heydari, Frank Cwitkowitz, Zhiyao Duan "
    "(BeatNet, ISMIR 2021, https://github.com/mjhydri/BeatNet), CC BY 4.0"
)


@dataclass(frozen=True)
class FitConfig:
    """Settings of a fine-tuning run (fixed per run folder, except ``epochs``, which may grow)."""

    seed: int = 0
    epochs: int = 6
    batch: int = 16
    seq_s: float = 8.0
    lr: float = 3e-4
    neighbour_weight: float = 0.5
    downbeat_weight: float = 1.0  # loss weight of downbeat frames against beat and no-beat frames
    threads: int = 1  # a shared machine: more threads only wait on each other
    excerpts_per_item: float = 3.0  # excerpts drawn per training item and epoch (30 s items, 8 s excerpts)


def frame_targets(beats_s: np.ndarray, downbeats_s: np.ndarray | None, *, n_frames: int, start_s: float,
                  neighbour_weight: float, downbeat_weight: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame class ``[T]`` (int64), weight ``[T]`` (float32) and "either beat class" flag ``[T]``
    (bool) for frames ``i`` at ``start_s + i / 50`` s. Frames nearest a beat are weight 1, their two
    neighbours (if not beats themselves) ``neighbour_weight``; downbeat frames weigh ``downbeat_weight``
    times that (a bar has one downbeat among 2–4 beats and 50–100 frames, so it is the rarest class)."""
    cls = np.full(n_frames, NONE, np.int64)
    weight = np.ones(n_frames, np.float32)
    either = np.zeros(n_frames, bool)
    frames = np.round((np.asarray(beats_s) - start_s) * beatnet.FPS_HZ).astype(np.int64)
    down = set(np.round((np.asarray(downbeats_s) - start_s) * beatnet.FPS_HZ).astype(np.int64).tolist()) \
        if downbeats_s is not None else set()
    centre = np.zeros(n_frames, bool)
    for f in frames:
        if 0 <= f < n_frames:
            centre[f] = True
    for f in frames:
        label = DOWNBEAT if f in down else BEAT
        scale = downbeat_weight if label == DOWNBEAT else 1.0
        for g, w in ((f - 1, neighbour_weight), (f + 1, neighbour_weight), (f, 1.0)):
            if 0 <= g < n_frames and (g == f or not centre[g]):
                cls[g], weight[g], either[g] = label, w * scale, downbeats_s is None
    return cls, weight, either


def frame_loss(logits: torch.Tensor, cls: torch.Tensor, weight: torch.Tensor, either: torch.Tensor) -> torch.Tensor:
    """Weighted mean cross-entropy of logits ``[B, T, 3]``; where ``either`` the target is "beat or
    downbeat" (``-log(p_beat + p_downbeat)``)."""
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, cls.unsqueeze(-1)).squeeze(-1)
    either_nll = -torch.logsumexp(logp[..., :2], dim=-1)
    nll = torch.where(either, either_nll, nll)
    return (nll * weight).sum() / weight.sum()


class _Items:
    """Training items with their audio loaded lazily (FLAC decode is cheap next to a step)."""

    def __init__(self, items: list[BeatItem]) -> None:
        self.items = items
        self._cache: dict[int, tuple[np.ndarray, int]] = {}

    def audio(self, i: int) -> tuple[np.ndarray, int]:
        if i not in self._cache:
            if len(self._cache) > 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[i] = self.items[i].load()
        return self._cache[i]


def make_batch(data: _Items, indices: np.ndarray, config: FitConfig,
               rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """Features ``[B, T, 272]`` and targets (class, weight, either ``[B, T]``) of random excerpts."""
    n_frames = int(round(config.seq_s * beatnet.FPS_HZ))
    feats, classes, weights, eithers = [], [], [], []
    for i in indices:
        item = data.items[int(i)]
        y, sr = data.audio(int(i))
        length = n_frames * beatnet.HOP * sr // beatnet.SR_HZ
        start = int(rng.integers(0, max(1, len(y) - length)))
        start -= start % (beatnet.HOP * sr // beatnet.SR_HZ) if sr == beatnet.SR_HZ else 0
        clip = augment_audio(y[start: start + length], sr_hz=sr, rng=rng)
        f = beatnet.beatnet_features(clip, sr_hz=sr)[:n_frames]
        f = np.pad(f, ((0, n_frames - len(f)), (0, 0)))
        c, w, e = frame_targets(item.beats_s, item.downbeats_s, n_frames=n_frames, start_s=start / sr,
                                neighbour_weight=config.neighbour_weight, downbeat_weight=config.downbeat_weight)
        feats.append(f)
        classes.append(c)
        weights.append(w)
        eithers.append(e)
    return (torch.from_numpy(np.stack(feats)), torch.from_numpy(np.stack(classes)),
            torch.from_numpy(np.stack(weights)), torch.from_numpy(np.stack(eithers)))


#: How an epoch is scored (kept in each checkpoint): the whole shipped tracker, bar phase included.
VAL_SCORING = "tracker+bar-phase"


def _val_score(s: dict[str, float]) -> float:
    return s["beat_f"] + (0.0 if math.isnan(s["downbeat_f"]) else s["downbeat_f"])


def _selection_score(entry: dict[str, Any]) -> float:
    """What picks the epoch kept: the real recordings' score where the run has one, else the held-out pieces'."""
    return _val_score(entry["real"] if "real" in entry else entry["val"])


def export_weights(state_dict: dict[str, torch.Tensor], out: Path, *, extra: dict[str, Any]) -> None:
    """Write ``state_dict`` in the engine's BeatNet weights format (see :mod:`..analysis.beatnet`)."""
    atomic_torch_save({
        "format": beatnet.FORMAT, "format_version": beatnet.FORMAT_VERSION,
        "config": asdict(beatnet.BeatNetConfig()),
        "state_dict": {k: v.detach().clone().contiguous() for k, v in state_dict.items()},
        "extra": {"license": LICENSE, "attribution": ATTRIBUTION, **extra},
    }, out)


def fit(data_dir: Path, run_dir: Path, config: FitConfig = FitConfig(), *, init: Path | None = None,
        real_ref: Path | None = None, real_folder: Path | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Fine-tune on the set at ``data_dir`` into ``run_dir`` (resumable); returns the history.

    Writes ``run_dir/last.pt`` after every epoch and ``run_dir/best.pt`` (engine weights format)
    whenever the validation score (beat F + downbeat F) improves; epoch 0 is the starting model.
    With ``real_ref`` (a reference of the recordings in ``real_folder``, :mod:`.realval`) each epoch
    is also scored on those recordings, and that score picks the epoch kept; a run keeps its choice.
    """
    for name in ("lr", "downbeat_weight", "excerpts_per_item"):  # the settings the command line sets
        if not getattr(config, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be above 0, not {getattr(config, name)}")
    torch.set_num_threads(config.threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    items = load_set(data_dir)
    train_items = [it for it in items if it.meta.get("split") != "val"]
    val_items = [it for it in items if it.meta.get("split") == "val"]
    if not train_items or not val_items:
        raise ConfigError(f"{data_dir}: need training and validation items, got {len(train_items)} and {len(val_items)}")
    if (real_ref is None) != (real_folder is None):
        raise ConfigError("--real-ref and --real-folder go together")
    real = load_real_validation(real_ref, real_folder) if real_ref is not None and real_folder is not None else None
    val = rendered_validation(val_items)
    chosen_by = str(real_ref) if real_ref is not None else None
    model = beatnet.BeatNetCRNN()
    start = beatnet.load_beatnet(init)  # the shipped weights unless ``init``
    model.load_state_dict(start.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    last = run_dir / "last.pt"
    history: list[dict[str, Any]] = []
    epoch0 = 0
    if last.is_file():
        state = load_payload(last, what="checkpoint")
        fixed = {k: v for k, v in asdict(config).items() if k != "epochs"}  # a run may be made longer
        saved = {**asdict(FitConfig()), **state.get("config", {})}  # settings added since keep their defaults
        if {k: v for k, v in saved.items() if k != "epochs"} != fixed:
            raise ConfigError(f"{run_dir}: run with other settings ({state.get('config')}); use another --run")
        if state.get("val_scoring") != VAL_SCORING:
            raise ConfigError(f"{run_dir}: its epochs were scored without the bar phase (before 2026-12-04);"
                              " use another --run")
        chosen_on = state.get("real_ref")
        if chosen_on != chosen_by:
            raise ConfigError(f"{run_dir}: its epochs are chosen on {chosen_on or 'the held-out rendered pieces'};"
                              " resume with the same --real-ref, or use another --run")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        history, epoch0 = state["history"], int(state["epoch"])
    else:
        history.append({"epoch": 0, "val": score_clips(model, val), "loss": None, "seconds": 0.0,
                        **({"real": score_clips(model, real)} if real is not None else {})})
        export_weights(model.state_dict(), run_dir / "best.pt",
                       extra={k: v for k, v in history[0].items() if k in ("epoch", "val", "real")})
    best = max(_selection_score(h) for h in history)
    steps = int(math.ceil(len(train_items) * config.excerpts_per_item / config.batch))
    data = _Items(train_items)
    model.train()
    for epoch in range(epoch0 + 1, config.epochs + 1):
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 1000 + epoch)
        t0 = time.perf_counter()
        losses = []
        for step in range(steps):
            if cancel is not None and cancel():
                return {"history": history, "cancelled": True}
            x, c, w, e = make_batch(data, rng.integers(0, len(train_items), config.batch), config, rng)
            loss = frame_loss(model(x), c, w, e)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            losses.append(float(loss.detach()))
            if progress is not None:
                progress(step + 1, steps, f"epoch {epoch}/{config.epochs} loss {np.mean(losses[-20:]):.4f}")
        entry = {"epoch": epoch, "val": score_clips(model, val), "loss": float(np.mean(losses)),
                 "seconds": round(time.perf_counter() - t0, 1),
                 **({"real": score_clips(model, real)} if real is not None else {})}
        history.append(entry)
        if _selection_score(entry) > best:
            best = _selection_score(entry)
            export_weights(model.state_dict(), run_dir / "best.pt", extra={
                "epoch": epoch, "val": entry["val"], **({"real": entry["real"], "real_ref": chosen_by} if real else {}),
                "trainset": str(data_dir), "train_items": len(train_items), "fit_config": asdict(config)})
        atomic_torch_save({"config": asdict(config), "model": model.state_dict(), "optimizer": opt.state_dict(),
                           "epoch": epoch, "history": history, "real_ref": chosen_by,
                           "val_scoring": VAL_SCORING}, last)
        (run_dir / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    return {"history": history, "cancelled": False}


def weights_tracker(weights: Path) -> Callable[..., Any]:
    """A benchmark tracker (``(y, *, sr_hz) -> BeatTrack``) running the engine's neural path with ``weights``."""
    from bgmatch.engine.analysis.neural_grid import neural_track

    beatnet.load_beatnet(weights)  # fail early, with the file named

    def track(y: np.ndarray, *, sr_hz: int) -> Any:
        return neural_track(np.asarray(y, np.float32), sr_hz=sr_hz, weights=weights)

    return track


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bgmatch train beats", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="render the training set (resumable)")
    b.add_argument("--out", type=Path, default=None, help="folder (default ~/.cache/bgmatch/beats-train/set)")
    b.add_argument("--items", type=int, default=240)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--bench", type=Path, default=None, help="benchmark to keep apart from (default: bgmatch eval beats')")
    b.add_argument("--keep-apart", type=Path, action="append", default=[], metavar="BEATCUT",
                   help="a ground-truth BeatCut whose valid and test pieces must not be trained on (repeatable)")
    b.add_argument("--workers", type=int, default=1)
    f = sub.add_parser("fit", help="fine-tune BeatNet's CRNN (resumes)")
    f.add_argument("--data", type=Path, default=None)
    f.add_argument("--run", type=Path, required=True, help="run folder (checkpoints, best.pt, history.json)")
    f.add_argument("--epochs", type=int, default=FitConfig.epochs)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--threads", type=int, default=FitConfig.threads)
    f.add_argument("--lr", type=float, default=FitConfig.lr)
    f.add_argument("--downbeat-weight", type=float, default=FitConfig.downbeat_weight,
                   help="loss weight of downbeat frames (default 1: as beat frames)")
    f.add_argument("--init", type=Path, default=None, help="start from this weights file (default: the shipped one)")
    f.add_argument("--excerpts-per-item", type=float, default=FitConfig.excerpts_per_item,
                   help="excerpts drawn per training item and epoch (sets the epoch's length)")
    f.add_argument("--real-ref", type=Path, default=None, metavar="REF.json",
                   help="also score each epoch against this reference of real recordings (madmom_reference.py "
                        "--downbeats, of recordings outside the measuring sets) and keep the best epoch there")
    f.add_argument("--real-folder", type=Path, default=None, metavar="DIR",
                   help="the folder the --real-ref paths are relative to")
    e = sub.add_parser("eval", help="score a weights file on the benchmark, beside the shipped tracker and librosa")
    e.add_argument("--weights", type=Path, required=True)
    e.add_argument("--out", type=Path, default=None, help="benchmark folder (default: bgmatch eval beats')")
    e.add_argument("--json", type=Path, default=None)
    e.add_argument("--candidate-only", action="store_true", help="leave out librosa and the shipped tracker")
    a = sub.add_parser("agree", help="agreement with a reference's beats (and downbeats, where it has them) "
                                     "on real recordings (see .agreement)")
    a.add_argument("reference", type=Path, help="JSON {relative path: beat times}, e.g. madmom's")
    a.add_argument("folder", type=Path)
    a.add_argument("--weights", type=Path, default=None, help="a candidate weights file, scored beside the others")
    a.add_argument("--max-s", type=float, default=60.0)
    a.add_argument("--json", type=Path, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    """``bgmatch train beats``; exit 0, or 1 with one line on stderr."""
    args = build_parser().parse_args(argv)
    try:
        if args.cmd == "build":
            from .layout import default_root, default_src_dir
            from .trainset import EXTRA_SOUNDFONTS, TrainSetConfig, build_trainset, soundfonts

            missing = sorted(set(EXTRA_SOUNDFONTS) - {f.name for f in soundfonts()})
            if missing:
                print(f"note: soundfonts {', '.join(missing)} not found (Debian timgm6mb-soundfont, opl3-soundfont);"
                      " the set gets fewer timbres and the tracker may learn one soundfont's sound", file=sys.stderr)
            ids = build_trainset(args.out or default_trainset_dir(), TrainSetConfig(seed=args.seed, n_items=args.items),
                                 src_dir=default_src_dir(), bench_root=args.bench or default_root(),
                                 keep_apart=args.keep_apart, workers=args.workers, progress=lambda d, n, m: print(f"{d}/{n} {m}", flush=True))
            print(f"{len(ids)} items")
        elif args.cmd == "fit":
            result = fit(args.data or default_trainset_dir(), args.run,
                         FitConfig(seed=args.seed, epochs=args.epochs, threads=args.threads,
                                   excerpts_per_item=args.excerpts_per_item, lr=args.lr,
                                   downbeat_weight=args.downbeat_weight), init=args.init,
                         real_ref=args.real_ref, real_folder=args.real_folder,
                         progress=lambda d, n, m: print(f"{d}/{n} {m}", flush=True) if d % 10 == 0 or d == n else None)
            for h in result["history"]:
                print(json.dumps(h))
        elif args.cmd == "agree":
            from .agreement import agreement, format_summary, load_reference
            from .evaluate import BUILTIN

            trackers = [("librosa", BUILTIN["librosa"]), ("neural", BUILTIN["neural"])]
            if args.weights is not None:
                trackers.append(("candidate", weights_tracker(args.weights)))
            result = agreement(load_reference(args.reference), args.folder, trackers, max_s=args.max_s)
            print(format_summary(result))
            if args.json:
                args.json.write_text(json.dumps(result, indent=1) + "\n")
        else:
            from .evaluate import BUILTIN, evaluate, format_table

            items = load_set(args.out)
            baselines = [] if args.candidate_only else [("librosa", BUILTIN["librosa"]), ("neural", BUILTIN["neural"])]
            results = evaluate(items, [*baselines, ("candidate", weights_tracker(args.weights))])
            print(format_table(results))
            if args.json:
                args.json.write_text(json.dumps({k: {"table": r.table, "per_item": r.per_item,
                                                     "seconds": r.seconds, "audio_s": r.audio_s}
                                                 for k, r in results.items()}, indent=1, default=str) + "\n")
    except BgmatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
