"""Benchmark rows and the table they print as (plain text or Markdown) and save as (JSON)."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Row:
    """One measured figure beside its reference.

    ``ratio`` is how many times better ours is: ``reference / ours`` when lower is better (times,
    bytes), ``ours / reference`` when higher is better (throughput).
    """

    case: str
    what: str
    ours: float
    reference: float
    unit: str
    ours_label: str
    reference_label: str
    better: Literal["lower", "higher"] = "lower"
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        if self.ours <= 0 or self.reference <= 0:
            return math.nan
        return self.reference / self.ours if self.better == "lower" else self.ours / self.reference


def fmt(value: float, unit: str) -> str:
    """A value with its unit, at a sensible precision."""
    if math.isnan(value):
        return "n/a"
    if unit == "B":
        for scale, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= scale:
                return f"{value / scale:.2f} {name}"
        return f"{value:.0f} B"
    if unit == "s" and value < 0.1:
        return f"{value * 1e3:.2f} ms"
    digits = 3 if abs(value) < 10 else 1 if abs(value) < 1000 else 0
    return f"{value:.{digits}f} {unit}".strip()


def _cells(row: Row) -> list[str]:
    met = {True: "yes", False: "NO", None: ""}[row.met]
    ratio = "n/a" if math.isnan(row.ratio) else f"{row.ratio:.2f}×"
    return [row.case, row.what, f"{fmt(row.ours, row.unit)} ({row.ours_label})",
            f"{fmt(row.reference, row.unit)} ({row.reference_label})", ratio,
            f"{row.target} {met}".strip(), row.note]


HEADER = ["case", "what", "ours", "reference", "ratio", "target met", "note"]


def table(rows: list[Row], *, markdown: bool = False) -> str:
    """The rows as an aligned text table, or a Markdown table."""
    cells = [_cells(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(HEADER)]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(out)


def save_json(rows: list[Row], path: Path, *, context: dict[str, Any]) -> None:
    """Write the rows (with their ratios) and the run's context to ``path``."""
    data = {"context": context, "rows": [{**asdict(r), "ratio": r.ratio} for r in rows]}
    path.write_text(json.dumps(data, indent=2, default=str))
