"""The run report (placeholder until the report issue lands)."""

from __future__ import annotations

from pathlib import Path


def write_report(run_dir: Path) -> Path | None:
    return None
