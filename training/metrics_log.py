"""Scalars of a run as one JSONL stream (``metrics.jsonl``) and one CSV per stage (``<stage>.csv``)."""
from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path


class MetricsLog:
    """Appends rows ``{stage, step, name: value…}``; only the main process writes."""

    def __init__(self, folder: str | os.PathLike[str], *, enabled: bool = True) -> None:
        self.folder = Path(folder)
        self.enabled = enabled
        if enabled:
            self.folder.mkdir(parents=True, exist_ok=True)

    @property
    def jsonl_path(self) -> Path:
        return self.folder / "metrics.jsonl"

    def csv_path(self, stage: str) -> Path:
        return self.folder / f"{stage}.csv"

    def log(self, stage: str, step: int, values: dict[str, float]) -> None:
        """Append one row to the JSONL stream and to the stage's CSV (widened when a new name appears)."""
        if not self.enabled:
            return
        row = {"stage": stage, "step": step, **{k: float(v) for k, v in values.items()}, "time": time.time()}
        with open(self.jsonl_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        path = self.csv_path(stage)
        header = self._header(path)
        if header is None or any(k not in header for k in row):
            header = self._widen(path, header, [k for k in row if k != "stage"])
        with open(path, "a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
            if handle.tell() == 0:
                writer.writeheader()
            writer.writerow(row)

    def rows(self, stage: str | None = None) -> list[dict]:
        """Rows logged so far (of ``stage``, when given)."""
        if not self.jsonl_path.exists():
            return []
        rows = [json.loads(line) for line in self.jsonl_path.read_text(encoding="utf-8").splitlines() if line]
        return [r for r in rows if stage is None or r["stage"] == stage]

    def truncate(self, stage: str, *, after_step: int) -> None:
        """Drop rows of ``stage`` past ``after_step`` (those of a run that is now resumed from there)."""
        if not self.enabled or not self.jsonl_path.exists():
            return
        keep = [r for r in self.rows() if r["stage"] != stage or r["step"] <= after_step]
        self._rewrite(self.jsonl_path, "".join(json.dumps(r) + "\n" for r in keep))
        path = self.csv_path(stage)
        header = self._header(path)
        if header:
            with open(path, newline="", encoding="utf-8") as handle:
                kept = [r for r in csv.DictReader(handle) if int(r["step"]) <= after_step]
            temporary = path.with_suffix(".csv.tmp")
            with open(temporary, "w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=header)
                writer.writeheader()
                writer.writerows(kept)
            os.replace(temporary, path)

    @staticmethod
    def _widen(path: Path, header: list[str] | None, keys: list[str]) -> list[str]:
        """Rewrite the CSV at ``path`` with ``keys`` added to its header (new columns stay empty)."""
        old_header = header or []
        widened = [k for k in old_header if k != "time"] + [k for k in keys if k not in old_header and k != "time"]
        widened.append("time")
        rows = []
        if header:
            with open(path, newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        temporary = path.with_suffix(".csv.tmp")
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=widened)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, path)
        return widened

    @staticmethod
    def _header(path: Path) -> list[str] | None:
        if not path.exists() or path.stat().st_size == 0:
            return None
        with open(path, newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), None)

    @staticmethod
    def _rewrite(path: Path, text: str) -> None:
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
