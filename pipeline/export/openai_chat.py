"""OpenAI chat fine-tuning rows: `{"messages": [{"role", "content"}, ...]}`, one JSON object per line."""

from __future__ import annotations

from typing import Any

from pipeline.export.messages import record_messages
from pipeline.records import Record


def openai_row(record: Record, system_prompt: str | None = None) -> dict[str, Any]:
    # Only `messages`: OpenAI's checker rejects any other key, so ids and meta stay out of this file.
    return {"messages": record_messages(record, system_prompt)}
