"""Alpaca rows: `instruction`, `input`, `output`; multi-turn records add `history` (earlier [user, assistant]
pairs, LLaMA-Factory's convention) and a system prompt adds `system`."""

from __future__ import annotations

from typing import Any

from pipeline.export.messages import record_messages
from pipeline.records import Record


def alpaca_row(record: Record, system_prompt: str | None = None) -> dict[str, Any]:
    if not record.messages:
        row: dict[str, Any] = {"instruction": record.instruction, "input": record.input, "output": record.output}
        if system_prompt:
            row["system"] = system_prompt
        return row
    messages = record_messages(record, system_prompt)
    system = messages[0]["content"] if messages[0]["role"] == "system" else None
    turns = [m["content"] for m in messages if m["role"] != "system"]
    pairs = [[turns[i], turns[i + 1]] for i in range(0, len(turns) - 1, 2)]
    row = {"instruction": pairs[-1][0], "input": "", "output": pairs[-1][1]}
    if system:
        row["system"] = system
    if len(pairs) > 1:
        row["history"] = pairs[:-1]
    return row


def uniform_columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every row the optional columns any row has (empty), so Arrow-based loaders infer one schema."""
    has_system = any("system" in r for r in rows)
    has_history = any("history" in r for r in rows)
    out = []
    for r in rows:
        r = dict(r)
        if has_system:
            r.setdefault("system", "")
        if has_history:
            r.setdefault("history", [])
        out.append(r)
    return out
