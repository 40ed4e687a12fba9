"""Benchmark rows: ratios in the right direction, readable units, text/Markdown/JSON output."""
from __future__ import annotations

import json
import math

from bgmatch.bench.report import Row, fmt, save_json, table


def _row(**kw) -> Row:
    base = dict(case="c", what="w", ours=2.0, reference=10.0, unit="s", ours_label="us", reference_label="them")
    return Row(**{**base, **kw})


def test_ratio_says_how_many_times_better_in_either_direction():
    assert _row().ratio == 5.0  # lower is better: reference / ours
    assert _row(better="higher", ours=300.0, reference=100.0).ratio == 3.0
    assert math.isnan(_row(ours=0.0).ratio) and math.isnan(_row(reference=float("nan")).ratio)


def test_units_are_scaled_for_reading():
    assert fmt(0.00042, "s") == "0.42 ms"
    assert fmt(12.345, "s") == "12.3 s"
    assert fmt(1.5 * 2**30, "B") == "1.50 GiB"
    assert fmt(3 * 2**20, "B") == "3.00 MiB"
    assert fmt(123456.0, "clips/s") == "123456 clips/s"
    assert fmt(float("nan"), "s") == "n/a"


def test_table_text_markdown_and_json(tmp_path):
    rows = [_row(target="≥10×", met=False, note="a | b"), _row(case="d", better="higher", met=True)]
    text = table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["case", "what", "ours", "reference", "ratio"]
    assert "5.00×" in lines[1] and "≥10× NO" in lines[1] and "yes" in lines[2]
    md = table(rows, markdown=True).splitlines()
    assert md[0].startswith("| case |") and md[1] == "|---|---|---|---|---|---|---|"
    assert "a / b" in md[2] and md[2].count("|") == 8  # a pipe in a note cannot break the table
    save_json(rows, tmp_path / "r.json", context={"quick": True})
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["context"] == {"quick": True} and data["rows"][0]["ratio"] == 5.0
