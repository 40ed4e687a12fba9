"""Training configs: the shipped examples load, and every mistake is reported precisely."""
from __future__ import annotations

from pathlib import Path

import pytest

from bgmatch.engine.errors import ConfigError
from bgmatch.engine.config import config_to_dict, save_config
from bgmatch.training.config import TrainConfig, load_config, parse_config
from bgmatch.training.models import model_configs

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


@pytest.mark.parametrize("name", ["small", "paper"])
def test_example_configs_load_and_build_models(name):
    config = load_config(CONFIGS / f"{name}.toml")
    assert config.model.name == name
    assert Path(config.data.root).is_absolute() and Path(config.run.out_dir).is_absolute()
    music, video, matching = model_configs(config, n_targets=27, text_dim=384)
    assert music.n_targets == video.n_targets == 27
    assert video.frame_px == config.features.frame_px
    assert (matching.music_dim, matching.video_dim, matching.text_dim) == (music.d_model, video.d_model, 384)
    assert parse_config(config_to_dict(config)) == config  # round trip


@pytest.mark.parametrize("data, message", [
    ({"mach": {}}, "[top level] unknown table(s) 'mach'"),
    ({"match": {"step": 3}}, "[match] unknown key(s) 'step'; known:"),
    ({"match": {"losses": {"tripplet": 1.0}}}, "[match.losses] unknown key(s) 'tripplet'"),
    ({"match": {"steps": "10"}}, "[match] steps: expected int, got str '10'"),
    ({"match": {"steps": 1.5}}, "[match] steps: expected int, got float 1.5"),
    ({"pretrain": {"enabled": 1}}, "[pretrain] enabled: expected bool, got int 1"),
    ({"match": {"batch_size": 0}}, "[match] batch_size must be >= 1, got 0"),
    ({"match": {"losses": {"classifier_negatives": "easy"}}},
     "[match.losses] classifier_negatives: 'easy' is not one of 'hardest', 'random'"),
    ({"match": {"losses": {"triplet": 0, "reconstruction": 0, "classifier": 0, "ranking": 0, "infonce": 0}}},
     "[match.losses] at least one loss weight must be > 0"),
    ({"eval": {"splits": ["dev"]}}, "[eval] splits: unknown split(s) ['dev']"),
    ({"eval": {"ks": 10}}, "[eval] ks: expected a list, got int 10"),
    ({"eval": {"score": {"cosine": 1.0}}}, "[eval.score] unknown key(s) 'cosine'"),
    ({"data": {"format": "csv"}}, "[data] format: 'csv' is not one of 'folder', 'paper'"),
    ({"data": {"valid_fraction": 0.6, "test_fraction": 0.5}}, "[data] valid_fraction + test_fraction"),
    ({"features": {"frame_px": -1}}, "[features] FeatureConfig: frame_px must be > 0"),
    ({"pretrain": {"encoders": ["audio"]}}, "[pretrain] encoders: unknown encoder(s) ['audio']"),
    ({"targets": {"tempo_edges_bpm": [120.0, 90.0]}}, "[targets] tempo_edges_bpm must be increasing"),
])
def test_config_errors_name_the_table_and_key(data, message):
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    assert message in str(error.value)


@pytest.mark.parametrize("model, message", [
    ({"name": "huge"}, "[model] name: unknown model config 'huge'"),
    ({"music": {"layers": 2}}, "[model.music] unknown key(s) 'layers'; known: n_mels, d_model"),
    ({"video": {"d_model": "big"}}, "[model.video] d_model: expected int, got str 'big'"),
    ({"video": {"frame_px": 96}}, "[model.video] frame_px = 96 contradicts 128"),
])
def test_model_override_errors(model, message):
    config = parse_config({"model": model})
    with pytest.raises(ConfigError) as error:
        model_configs(config, n_targets=5, text_dim=384)
    assert message in str(error.value)


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[match]\nsteps = \n")
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"missing.toml: no such config file"):
        load_config(tmp_path / "missing.toml")
    typo = tmp_path / "typo.toml"
    typo.write_text('[run]\nout_dir = "runs/x"\nsed = 1\n')
    with pytest.raises(ConfigError, match=r"typo.toml: \[run\] unknown key\(s\) 'sed'"):
        load_config(typo)


def test_paths_are_relative_to_the_config_file_and_overrides_apply(tmp_path):
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "c.toml"
    path.write_text('[run]\nout_dir = "../runs/a"\n[data]\nroot = "media"\n')
    config = load_config(path, overrides={"match.steps": 7, "match.losses.infonce": 0.5})
    assert config.out_dir == (tmp_path / "runs" / "a").resolve()
    assert Path(config.data.root) == (tmp_path / "conf" / "media").resolve()
    assert config.prepared_dir == config.out_dir / "prepared"
    assert config.match.steps == 7 and config.match.losses.infonce == 0.5
    assert isinstance(config, TrainConfig)


def test_a_saved_run_config_loads_back_and_bad_overrides_name_the_file(tmp_path):
    config = load_config(CONFIGS / "small.toml")
    save_config(tmp_path / "config.json", config)  # what a run writes beside its checkpoints
    assert load_config(tmp_path / "config.json") == config
    with pytest.raises(ConfigError, match=r"small\.toml: override 'run\.out_dir\.x': run\.out_dir is str '.+', "
                                          r"not a table$"):
        load_config(CONFIGS / "small.toml", overrides={"run.out_dir.x": 1})
    with pytest.raises(ConfigError, match=r"small\.toml: \[match\.losses\] infonce: expected float, got str 'x'$"):
        load_config(CONFIGS / "small.toml", overrides={"match.losses.infonce": "x"})
