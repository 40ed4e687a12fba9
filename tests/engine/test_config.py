"""bgmatch.engine.config: dicts and TOML/JSON files to typed dataclasses, with one-line errors."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bgmatch.engine.config import config_from_dict, config_to_dict, load_config, read_config_file, save_config
from bgmatch.engine.errors import ConfigError
from bgmatch.engine.learned.bundle import ScoreConfig
from bgmatch.engine.learned.inputs import FeatureConfig
from bgmatch.engine.learned.models import MatchingConfig, MusicEncoderConfig, VideoEncoderConfig


@dataclass(frozen=True)
class Window:
    size_s: float = 1.0
    kind: Literal["hann", "box"] = "hann"

    def __post_init__(self) -> None:
        if self.size_s <= 0:
            raise ConfigError(f"size_s must be > 0, got {self.size_s}")


@dataclass(frozen=True)
class Analysis:
    name: str = "a"
    steps: int = 3
    enabled: bool = True
    ks: tuple[int, ...] = (1, 5)
    size: tuple[int, int] = (640, 360)
    limit_s: float | None = None
    seed: int | str = 0
    tags: dict[str, float] = field(default_factory=dict)
    window: Window = field(default_factory=Window)


@dataclass(frozen=True)
class Track:
    key: str
    duration_s: float
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    analysis: Analysis = field(default_factory=Analysis)
    window: Window = field(default_factory=Window)


SETTINGS_TOML = """\
[analysis]
name = "b"
steps = 7
ks = [1, 10]
size = [320, 180]
limit_s = 30
seed = "fixed"
tags = { calm = 1, epic = 0.5 }
window = { kind = "box" }

[window]
size_s = 2.5
"""
SETTINGS = Settings(Analysis(name="b", steps=7, ks=(1, 10), size=(320, 180), limit_s=30.0, seed="fixed",
                             tags={"calm": 1.0, "epic": 0.5}, window=Window(kind="box")), Window(size_s=2.5))


def test_nested_tables_tuples_unions_and_literals_are_built_and_converted():
    config = config_from_dict(Settings, {
        "analysis": {"name": "b", "steps": 7, "ks": [1, 10], "size": [320, 180], "limit_s": 30, "seed": "fixed",
                     "tags": {"calm": 1, "epic": 0.5}, "window": {"kind": "box"}},
        "window": {"size_s": 2.5}})
    assert config == SETTINGS
    assert type(config.analysis.ks) is tuple and type(config.analysis.limit_s) is float
    assert type(config.analysis.tags["calm"]) is float
    assert config_from_dict(Settings, {}) == Settings()  # missing keys keep the defaults
    assert config_from_dict(Analysis, {"limit_s": None}).limit_s is None
    assert config_from_dict(Track, {"key": "a", "duration_s": 3}) == Track("a", 3.0)


def test_round_trip_through_json_for_test_and_engine_configs():
    data = config_to_dict(SETTINGS)
    assert data["analysis"]["ks"] == [1, 10] and data["analysis"]["window"] == {"size_s": 1.0, "kind": "box"}
    for config in (SETTINGS, Settings(), FeatureConfig(), ScoreConfig(fusion_weight=0.3), MusicEncoderConfig(),
                   VideoEncoderConfig(), MatchingConfig()):
        assert config_from_dict(type(config), json.loads(json.dumps(config_to_dict(config)))) == config
    with pytest.raises(ConfigError, match="expected a config dataclass instance, got type"):
        config_to_dict(Settings)
    with pytest.raises(ConfigError, match="config_from_dict needs a dataclass type"):
        config_from_dict(dict, {})


@pytest.mark.parametrize("cls, data, message", [
    (Settings, {"analyis": {}}, "[top level] unknown table(s) 'analyis'; known: analysis, window"),
    (Analysis, {"stpes": 1}, "[top level] unknown key(s) 'stpes'; known: name, steps, enabled, ks, size, limit_s, "
                             "seed, tags, window"),
    (Settings, {"analysis": {"window": {"sise_s": 1}}},
     "[analysis.window] unknown key(s) 'sise_s'; known: size_s, kind"),
    (Settings, {"analysis": {"steps": "3"}}, "[analysis] steps: expected int, got str '3'"),
    (Settings, {"analysis": {"steps": True}}, "[analysis] steps: expected int, got bool True"),
    (Settings, {"analysis": {"steps": 1.5}}, "[analysis] steps: expected int, got float 1.5"),
    (Settings, {"analysis": {"enabled": 1}}, "[analysis] enabled: expected bool, got int 1"),
    (Settings, {"analysis": {"name": 3}}, "[analysis] name: expected str, got int 3"),
    (Settings, {"window": {"size_s": "big"}}, "[window] size_s: expected float, got str 'big'"),
    (Settings, {"analysis": {"ks": 5}}, "[analysis] ks: expected a list, got int 5"),
    (Settings, {"analysis": {"ks": [1, "x"]}}, "[analysis] ks[1]: expected int, got str 'x'"),
    (Settings, {"analysis": {"size": [640]}}, "[analysis] size: expected a list of 2 values, got list [640]"),
    (Settings, {"analysis": {"limit_s": "long"}}, "[analysis] limit_s: expected float, got str 'long'"),
    (Settings, {"analysis": {"seed": 1.5}}, "[analysis] seed: expected int or str, got float 1.5"),
    (Settings, {"analysis": {"tags": ["calm"]}}, "[analysis] tags: expected a table, got list ['calm']"),
    (Settings, {"analysis": {"tags": {"calm": "x"}}}, "[analysis.tags] calm: expected float, got str 'x'"),
    (Settings, {"window": {"kind": "tri"}}, "[window] kind: 'tri' is not one of 'hann', 'box'"),
    (Settings, {"window": {"kind": True}}, "[window] kind: True is not one of 'hann', 'box'"),
    (Settings, {"window": {"size_s": 0}}, "[window] size_s must be > 0, got 0.0"),  # its own __post_init__
    (Settings, {"window": 3}, "[window] expected a table, got int 3"),
    (Settings, [1], "[top level] expected a table, got list [1]"),
    (Track, {"duration_s": 3}, "[top level] missing key(s) 'key'"),
    (Track, {"key": "a", "duration_s": 3, "tags": ["calm", 1]}, "[top level] tags[1]: expected str, got int 1"),
    (FeatureConfig, {"frame_px": -1}, "[top level] FeatureConfig: frame_px must be > 0, got -1"),
])
def test_errors_are_one_line_naming_the_table_and_key(cls, data, message):
    with pytest.raises(ConfigError) as error:
        config_from_dict(cls, data)
    assert str(error.value) == message


def test_where_names_the_table_of_a_config_read_from_a_bigger_document():
    with pytest.raises(ConfigError, match=r"^\[bundle\.features\] n_mels: expected int, got str '80'$"):
        config_from_dict(FeatureConfig, {"n_mels": "80"}, where="bundle.features")
    with pytest.raises(ConfigError, match=r"^\[score\] unknown key\(s\) 'cosine'; known: pooled_weight"):
        config_from_dict(ScoreConfig, {"cosine": 1.0}, where="score")


def test_toml_and_json_files_load_the_same_config(tmp_path):
    toml_path = tmp_path / "settings.toml"
    toml_path.write_text(SETTINGS_TOML)
    json_path = tmp_path / "settings.json"
    json_path.write_text(json.dumps(config_to_dict(SETTINGS)))
    assert load_config(Settings, toml_path) == load_config(Settings, json_path) == SETTINGS
    assert read_config_file(toml_path)["window"] == {"size_s": 2.5}


def test_file_errors_name_the_file(tmp_path):
    cases = {"bad.toml": ("[window]\nsize_s = \n", r"bad\.toml: invalid TOML: .*line 2"),
             "bad.json": ('{"window": ', r"bad\.json: invalid JSON: Expecting .*line 1"),
             "list.json": ("[1, 2]", r"list\.json: expected a table at the top level, got list$"),
             "latin.toml": (None, r"latin\.toml: cannot read: not UTF-8 text$"),
             "c.yaml": ("window: {}\n", r"c\.yaml: unknown config file type '\.yaml'; expected \.toml or \.json$"),
             "typo.toml": ("[window]\nkind = 'tri'\n", r"typo\.toml: \[window\] kind: 'tri' is not one of 'hann'")}
    for name, (text, message) in cases.items():
        path = tmp_path / name
        if text is None:
            path.write_bytes("[window]\nkind = 'ä'\n".encode("latin-1"))
        else:
            path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(Settings, path)
    with pytest.raises(ConfigError, match=r"missing\.toml: no such config file$"):
        load_config(Settings, tmp_path / "missing.toml")
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(ConfigError, match=r"folder\.toml: cannot read: "):
        read_config_file(tmp_path / "folder.toml")


def test_dotted_overrides_apply_on_top_of_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(SETTINGS_TOML)
    config = load_config(Settings, path, overrides={"analysis.steps": 9, "analysis.window.size_s": 4,
                                                    "window.kind": "box"})
    assert config.analysis.steps == 9 and config.analysis.window == Window(size_s=4.0, kind="box")
    assert config.window == Window(size_s=2.5, kind="box") and config.analysis.name == "b"
    other = tmp_path / "empty.toml"
    other.write_text("")
    assert load_config(Settings, other, overrides={"window.size_s": 3}).window.size_s == 3.0  # table created
    for overrides, message in [
        ({"analysis.steps.x": 1}, r"c\.toml: override 'analysis\.steps\.x': analysis\.steps is int 7, not a table$"),
        ({"analysis.stpes": 1}, r"c\.toml: \[analysis\] unknown key\(s\) 'stpes'; known: name, steps"),
        ({"window..kind": "box"}, r"c\.toml: override 'window\.\.kind': empty key$"),
        ({"window.kind": 3}, r"c\.toml: \[window\] kind: 3 is not one of 'hann', 'box'$"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_config(Settings, path, overrides=overrides)


def test_save_config_writes_json_atomically(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    assert save_config(path, SETTINGS) == path
    assert load_config(Settings, path) == SETTINGS and path.read_text().endswith("}\n")
    save_config(path, Settings())
    assert load_config(Settings, path) == Settings() and os.listdir(tmp_path) == ["settings.json"]
    before = path.read_bytes()

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(ConfigError, match=r"settings\.json: cannot write: No space left on device$"):
        save_config(path, SETTINGS)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["settings.json"]  # old file, no temp left
    monkeypatch.undo()
    save_config(tmp_path / "library.json", {"settings": SETTINGS.window, "versions": {"analysis": 3}})
    assert json.loads((tmp_path / "library.json").read_text()) == {
        "settings": {"size_s": 2.5, "kind": "hann"}, "versions": {"analysis": 3}}
    with pytest.raises(ConfigError, match=r"x\.toml: save_config writes JSON; name the file \*\.json$"):
        save_config(tmp_path / "x.toml", SETTINGS)
    with pytest.raises(ConfigError, match=r"y\.json: a PosixPath value cannot be written to a config file$"):
        save_config(tmp_path / "y.json", {"root": Path("/tmp")})
    assert not (tmp_path / "y.json").exists()
    with pytest.raises(ConfigError, match=r"missing/z\.json: cannot write: No such file or directory$"):
        save_config(tmp_path / "missing" / "z.json", SETTINGS)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
keys = st.sampled_from(["analysis", "window", "name", "steps", "enabled", "ks", "size", "limit_s", "seed", "tags",
                        "size_s", "kind", "bogus"])


@settings(max_examples=int(os.environ.get("BGMATCH_FUZZ_EXAMPLES", "150")), deadline=None)
@given(data=st.recursive(st.dictionaries(keys, values, max_size=4),
                         lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=10))
def test_any_input_gives_a_config_or_one_config_error_line(data):
    try:
        config = config_from_dict(Settings, data)
    except ConfigError as error:
        assert str(error).startswith("[") and "\n" not in str(error)
    else:
        assert isinstance(config, Settings)
        text = json.dumps(config_to_dict(config))  # compared as text: NaN != NaN
        assert json.dumps(config_to_dict(config_from_dict(Settings, json.loads(text)))) == text
