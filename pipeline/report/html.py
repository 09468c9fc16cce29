"""Assembling the self-contained report.html: figures embedded as base64 PNG data URIs, no external files."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.report.data import RunData
from pipeline.report.style import FigureResult
from pipeline.report.usage import cost, stage_price

TEMPLATES = Path(__file__).parent / "templates"


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def stage_rows(run: RunData) -> list[dict[str, Any]]:
    rows = []
    for s in run.stages:
        wall = s.entry.get("wall_s")
        rows.append({"name": s.name, "status": s.status,
                     "in": "" if s.count_in is None else f"{s.count_in:,}",
                     "kept": "" if s.count_kept is None else f"{s.count_kept:,}",
                     "rejected": f"{sum(s.rejections_by_reason().values()):,}" if s.count_kept is not None else "",
                     "wall": f"{wall:.1f}s" if isinstance(wall, (int, float)) else ""})
    return rows


def summary(run: RunData) -> list[tuple[str, str]]:
    m = run.manifest
    model, price = stage_price(run)
    final = run.final_stage()
    prompt = sum(int(s.usage_total.get("prompt_tokens", 0)) for s in run.stages)
    completion = sum(int(s.usage_total.get("completion_tokens", 0)) for s in run.stages)
    spent = cost(prompt, completion, price)
    items = [
        ("run", str(m.get("run_name") or run.root.name)),
        ("run directory", str(run.root)),
        ("created", str(m.get("created_at", "unknown"))),
        ("last updated", str(m.get("updated_at", "unknown"))),
        ("config hash", str(m.get("config_hash", "unknown"))),
        ("pipeline version", str(m.get("pipeline_version", "unknown"))),
        ("generator model", str(model or "unknown")),
        ("final dataset", f"{len(final.kept or []):,} records after stage '{final.name}'" if final else "none"),
        ("tokens", f"{prompt:,} prompt + {completion:,} completion"),
        ("estimated cost", "no price configured" if spent is None else f"${spent:,.4f}"),
    ]
    return items


def render_html(run: RunData, figures: list[FigureResult], samples: list[dict[str, Any]],
                rejections: list[dict[str, Any]]) -> str:
    # autoescape on: every record text, reason and value is escaped, so a record holding "<script>"
    # shows as text and the report stays safe to open.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    template = env.get_template("report.html.j2")
    return template.render(
        title=f"Run report: {run.manifest.get('run_name') or run.root.name}",
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        summary=summary(run),
        stages=stage_rows(run),
        figures=[{"key": f.key, "title": f.title, "caption": f.caption, "note": f.note, "tables": f.tables,
                  "src": data_uri(f.png) if f.png else None} for f in figures],
        samples=samples,
        rejections=rejections,
        versions=sorted((run.manifest.get("package_versions") or {}).items()),
    )
