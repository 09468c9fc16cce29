"""The report's tables: seeded random samples of every stage's kept records, and rejections by reason."""

from __future__ import annotations

import json
import random
from typing import Any

from pipeline.records import Record
from pipeline.report.data import RunData

SAMPLES_PER_STAGE = 5
EXAMPLES_PER_REASON = 3
MAX_CHARS = 600


def clip(text: str, limit: int = MAX_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def record_view(record: Record) -> dict[str, Any]:
    """Plain strings only: the template escapes them, so record text can never become markup."""
    if record.messages:
        turns = "\n\n".join(f"[{m.role}] {m.content}" for m in record.messages)
        return {"id": record.id, "instruction": clip(turns), "input": "", "output": "",
                "lineage": " → ".join(record.lineage)}
    return {"id": record.id, "instruction": clip(record.instruction), "input": clip(record.input),
            "output": clip(record.output), "lineage": " → ".join(record.lineage)}


def sample_tables(run: RunData, k: int = SAMPLES_PER_STAGE) -> list[dict[str, Any]]:
    """Per stage with records: up to k kept records drawn with a generator seeded by the run seed and stage."""
    out = []
    for s in run.stages:
        if not s.kept:
            continue
        rng = random.Random(f"{run.seed}:report.samples:{s.name}")
        picked = rng.sample(s.kept, min(k, len(s.kept)))
        out.append({"stage": s.name, "total": len(s.kept), "records": [record_view(r) for r in picked]})
    return out


def _short(value: Any, limit: int = 200) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return clip(text, limit)


def rejection_tables(run: RunData, k: int = EXAMPLES_PER_REASON) -> list[dict[str, Any]]:
    """Per stage and reason: the count and up to k seeded example rejections with value and detail."""
    out = []
    for s in run.stages:
        by_reason: dict[str, list] = {}
        for rej in s.rejected or []:
            by_reason.setdefault(rej.reason, []).append(rej)
        counts = s.rejections_by_reason()
        for reason in sorted(set(counts) | set(by_reason), key=lambda r: -counts.get(r, len(by_reason.get(r, [])))):
            pool = by_reason.get(reason, [])
            rng = random.Random(f"{run.seed}:report.rejections:{s.name}:{reason}")
            examples = rng.sample(pool, min(k, len(pool)))
            out.append({
                "stage": s.name, "reason": reason, "count": counts.get(reason, len(pool)),
                "examples": [{**record_view(r.record), "value": _short(r.value), "detail": _short(r.detail or None)}
                             for r in examples],
            })
    return out
