"""Property-based fuzzing of the training config parser and the manifest path guard.

Whatever the input, the parser returns a config or raises ConfigError (never another
exception), and no manifest path resolves outside the data root.
"""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgmatch.engine.config import config_to_dict
from bgmatch.engine.errors import BgmatchError
from bgmatch.training.config import load_config, parse_config
from bgmatch.training.sources import inside_root

REPO = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=int(os.environ.get("BGMATCH_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
SMALL = load_config(REPO / "training" / "configs" / "small.toml")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=12)
SECTIONS = ["run", "data", "features", "text", "targets", "model", "pretrain", "match", "eval"]


@FUZZ
@given(data=st.dictionaries(st.sampled_from(SECTIONS + ["bogus"]),
                            st.dictionaries(st.text(max_size=14), values, max_size=5), max_size=5))
def test_random_config_tables(data):
    try:
        parse_config(data, base_dir=REPO)
    except BgmatchError as exc:
        assert str(exc) and "\n" not in str(exc).strip()


@FUZZ
@given(section=st.sampled_from(SECTIONS), key=st.text(max_size=14), value=values)
def test_one_bad_value_in_a_real_config(section, key, value):
    data = config_to_dict(SMALL)
    table = data.setdefault(section, {})
    if isinstance(table, dict):
        table[key or "x"] = value
    try:
        parse_config(data, base_dir=REPO)
    except BgmatchError as exc:
        assert str(exc)


@FUZZ
@given(parts=st.lists(st.sampled_from(["..", ".", "a", "b", "/", "//", "~", "..a", "a/..", "/etc"]), min_size=1, max_size=6))
def test_manifest_paths_never_escape_the_root(tmp_path, parts):
    root = tmp_path / "data"
    root.mkdir(exist_ok=True)
    relative = "/".join(parts)
    try:
        resolved = inside_root(root, relative, "video")
    except BgmatchError:
        return
    assert resolved.resolve().is_relative_to(root.resolve())
