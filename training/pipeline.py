"""``train``: prepare → pretrain → match → bundle → eval from one config, resumable.

Run folder (``run.out_dir``)::

    config.json            the resolved config
    prepared/              lmdb features + manifest (unless data.prepared_dir says elsewhere)
    state/{pretrain,match}.pt   training states (resume after a kill)
    pretrain/{music,video}.pt   pretrained encoders
    match/matching.pt      matching model
    model/                 the bundle engine.embed.ModelBundle loads (its fusion weight chosen on valid)
    fusion-library/        the valid split's music as a library (for choosing the fusion weight)
    metrics.jsonl, pretrain.csv, match.csv, eval.json
"""
from __future__ import annotations

import dataclasses
import json
import os
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bgmatch.engine.config import save_config
from bgmatch.engine.learned.bundle import save_bundle
from bgmatch.engine.errors import ConfigError

from bgmatch.engine.learned.models import MatchingModel

from .clip_features import ClipFeatureTable, encode_all
from .config import STAGES, TrainConfig, load_config
from .dataset import PreparedData, TargetSet
from .distributed import DistContext, barrier, init_distributed, shutdown
from .match import effective_score, run_match
from .metrics_log import MetricsLog
from .models import model_configs
from .prepare import prepare
from .fusion_tuning import tune_on_pairs
from .pretrain import run_pretrain
from .recall import evaluate_items
from .sources import read_sources

ProgressCallback = Callable[[dict[str, Any]], None]
CancelFlag = threading.Event | Callable[[], bool] | None


@dataclass
class TrainResult:
    """What a training run produced."""

    out_dir: Path
    bundle_dir: Path | None = None
    cancelled: bool = False
    stages_done: list[str] = field(default_factory=list)
    evaluation: dict[str, dict[str, float]] = field(default_factory=dict)
    last: dict[str, dict[str, float]] = field(default_factory=dict)  # stage → last logged scalars

    def as_dict(self) -> dict[str, Any]:
        """Plain data, with ``model_path`` (the bundle folder, or None)."""
        return {"model_path": None if self.bundle_dir is None else str(self.bundle_dir), "out_dir": str(self.out_dir),
                "cancelled": self.cancelled, "stages_done": list(self.stages_done),
                "evaluation": self.evaluation, "last": self.last}


def _cancel_fn(flag: CancelFlag) -> Callable[[], bool]:
    if flag is None:
        return lambda: False
    if isinstance(flag, threading.Event):
        return flag.is_set
    return flag


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (the training code uses its own too)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train(config: TrainConfig | str | os.PathLike[str], progress_callback: ProgressCallback | None = None,
          cancel_flag: CancelFlag = None, *, device: str | None = None, stages: Sequence[str] = STAGES,
          show_bar: bool = True) -> TrainResult:
    """Run the ``stages`` of a training config (a :class:`TrainConfig` or a TOML path).

    ``progress_callback`` receives dicts such as ``{"stage": "match", "step": 40, "total": 400,
    "loss": 0.8, "val_recall@10": 0.3}``; ``cancel_flag`` (a ``threading.Event`` or a callable)
    stops the run at the next step, with its state saved so that the same call resumes it.
    Under ``torchrun`` every process calls this; only the main process writes files.
    """
    if not isinstance(config, TrainConfig):
        config = load_config(config)
    if device is not None:
        config = dataclasses.replace(config, run=dataclasses.replace(config.run, device=device))
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; known: {', '.join(STAGES)}")
    context = init_distributed(config.run.device)
    try:
        return _run(config, context, progress_callback, _cancel_fn(cancel_flag), tuple(stages), show_bar)
    finally:
        shutdown(context)


def _run(config: TrainConfig, context: DistContext, progress: ProgressCallback | None, cancel: Callable[[], bool],
         stages: tuple[str, ...], show_bar: bool) -> TrainResult:
    if config.run.threads:
        torch.set_num_threads(config.run.threads)
    seed_everything(config.run.seed)
    out = config.out_dir
    result = TrainResult(out)
    log = MetricsLog(out, enabled=context.is_main)
    report = progress if context.is_main else None
    if context.is_main:
        save_config(out / "config.json", config)
    if "prepare" in stages:
        if context.is_main:
            prepared = prepare(config, progress=report, cancel=cancel, show_bar=show_bar)
            result.cancelled = prepared.cancelled
        barrier(context)
        if result.cancelled:
            return result
        result.stages_done.append("prepare")
    if not ({"pretrain", "match", "eval"} & set(stages)):
        return result
    data = PreparedData(config.prepared_dir)
    try:
        if data.features != config.features:
            raise ConfigError(f"[features] differ from those the data in {config.prepared_dir} was prepared with")
        targets = TargetSet(data, config.targets.source)
        pretrained = run_pretrain(config, data, targets, context, log, progress=report, cancel=cancel)
        if pretrained.loop is not None:
            result.last["pretrain"] = pretrained.loop.last
            if pretrained.loop.cancelled:
                result.cancelled = True
                return result
        result.stages_done.append("pretrain")
        if not ({"match", "eval"} & set(stages)):
            return result
        video_ids = sorted({v for split in data.manifest["splits"].values() for v in split})
        items = {v.video_id: v for split in ("train", "valid", "test") for v in data.items(split)}
        segments = sorted({(i.segment, i.music_id, i.offset_s) for i in items.values()}
                          | {(m, m, 0.0) for g in data.manifest["galleries"].values() for m in g})
        table = encode_all(pretrained.music, pretrained.video, data, video_ids=video_ids, segments=segments,
                           max_clips=config.match.max_clips, context=context, exchange_dir=out / "state")
        *_, matching_config = model_configs(
            config, n_targets=len(targets.names), text_dim=int(data.manifest["text_dim"]))
        matching, loop = run_match(config, data, targets, table, matching_config, context, log, progress=report,
                                   cancel=cancel)
        if loop is not None:
            result.last["match"] = loop.last
            if loop.cancelled:
                result.cancelled = True
                return result
        result.stages_done.append("match")
        if context.is_main:
            result.bundle_dir = save_bundle(out / "model", music=pretrained.music, video=pretrained.video,
                                            matching=matching, features=config.features,
                                            score=effective_score(config),
                                            extra={"targets": targets.names, "target_kind": targets.kind,
                                                   "text_model": data.manifest["text_model"],
                                                   "model_name": config.model.name})
            if report is not None:
                report({"stage": "match", "message": "model saved", "model_path": str(result.bundle_dir)})
        barrier(context)
        if "eval" in stages and context.is_main:
            result.evaluation = _evaluate(config, data, table, matching, context, log, report)
            if config.eval.tune_fusion and result.bundle_dir is not None:
                fusion = _tune_fusion(config, result.bundle_dir, report)
                if fusion:
                    result.evaluation["fusion"] = fusion
                    (config.out_dir / "eval.json").write_text(json.dumps(result.evaluation, indent=2))
            result.stages_done.append("eval")
        barrier(context)
        return result
    finally:
        data.close()


def _tune_fusion(config: TrainConfig, bundle_dir: Path, report: ProgressCallback | None) -> dict[str, float]:
    """Choose the bundle's fusion weight on the valid split's (video, music) pairs (empty if none)."""
    sources = read_sources(config.data)
    queries = [(p.video_path, p.music_path) for p in sources.pairs if p.split == "valid"]
    if not queries:
        return {}
    gallery = [sources.music_paths[m] for m in sources.galleries.get("valid", []) if m in sources.music_paths]

    def progress(done: int, total: int, path: str) -> None:
        if report is not None:
            report({"stage": "fusion", "step": done, "total": total, "fraction": done / max(total, 1),
                    "message": f"choosing the fusion weight: {Path(path).name}"})

    tuning = tune_on_pairs(bundle_dir, queries, gallery, config.out_dir / "fusion-library",
                           max_track_s=config.data.max_music_s, progress=progress)
    if report is not None:
        report({"stage": "fusion", "message": f"fusion weight {tuning.weight:g}", "fusion_weight": tuning.weight})
    return {"weight": tuning.weight, **{f"recall@{tuning.k}_w{w:g}": r for w, (r, _) in tuning.table.items()}}


def _evaluate(config: TrainConfig, data: PreparedData, table: ClipFeatureTable, matching: MatchingModel,
              context: DistContext, log: MetricsLog, report: ProgressCallback | None) -> dict[str, dict[str, float]]:
    """Recall of each ``config.eval.splits`` split against its gallery; written to ``eval.json``."""
    evaluation = {}
    for split in config.eval.splits:
        split_items = data.items(split)
        if not split_items:
            continue
        metrics = evaluate_items(matching, table, split_items, ks=config.eval.ks, score=effective_score(config),
                                 max_clips=config.match.max_clips, device=context.device, gallery=data.gallery(split))
        evaluation[split] = metrics
        log.log("eval", 0, {f"{split}_{k}": v for k, v in metrics.items()})
        if report is not None:
            report({"stage": "eval", "split": split, **metrics})
    (config.out_dir / "eval.json").write_text(json.dumps(evaluation, indent=2))
    return evaluation
