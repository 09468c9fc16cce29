"""ShareGPT rows: `{"id", "conversations": [{"from": "system"|"human"|"gpt", "value"}, ...]}`."""

from __future__ import annotations

from typing import Any

from pipeline.export.messages import record_messages
from pipeline.records import Record

SPEAKERS = {"system": "system", "user": "human", "assistant": "gpt"}


def sharegpt_row(record: Record, system_prompt: str | None = None) -> dict[str, Any]:
    turns = [{"from": SPEAKERS[m["role"]], "value": m["content"]} for m in record_messages(record, system_prompt)]
    return {"id": record.id, "conversations": turns}
