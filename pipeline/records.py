"""The one record type every stage reads and writes, its rejections, and JSONL round-tripping."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["system", "user", "assistant", "tool"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    content: str


def content_id(instruction: str, input: str, output: str, messages: list[Message] | None) -> str:
    """Stable id: a hash of the record's content, so the same task always gets the same id."""
    payload = {
        "instruction": instruction,
        "input": input,
        "output": output,
        "messages": [m.model_dump() for m in messages] if messages else None,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


class Record(BaseModel):
    """One instruction example (single-turn fields, or `messages` for multi-turn) with its history."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    instruction: str = ""
    input: str = ""
    output: str = ""
    messages: list[Message] | None = None
    stage: str = ""
    parent_ids: list[str] = Field(default_factory=list)
    lineage: list[str] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fill_id(self) -> Record:
        if not self.id:
            self.id = content_id(self.instruction, self.input, self.output, self.messages)
        return self

    def derive(self, stage: str, **changes: Any) -> Record:
        """A child record: new content, this record as parent, id recomputed from the new content."""
        data = self.model_dump()
        data["parent_ids"] = [self.id]
        data.update(changes)
        data["id"] = ""
        data["stage"] = stage
        return Record.model_validate(data)

    def text(self, fields: tuple[str, ...] = ("instruction", "input")) -> str:
        """The named fields joined for matching (messages flatten to their contents)."""
        parts: list[str] = []
        for name in fields:
            if name == "messages":
                parts.extend(m.content for m in self.messages or [])
            else:
                parts.append(getattr(self, name))
        return "\n".join(p for p in parts if p)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Record:
        return cls.model_validate_json(line)


class Rejection(BaseModel):
    """A record a stage dropped, why (a short machine-readable reason) and the value that decided it."""

    model_config = ConfigDict(extra="forbid")

    record: Record
    stage: str
    reason: str
    value: Any = None
    detail: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Rejection:
        return cls.model_validate_json(line)


class StageResult(BaseModel):
    """What a stage returns: kept records, rejections, and its own counters for the manifest."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    kept: list[Record] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict)

    def reject(self, record: Record, stage: str, reason: str, value: Any = None, **detail: Any) -> None:
        self.rejected.append(Rejection(record=record, stage=stage, reason=reason, value=value, detail=detail))

    def rejection_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.rejected:
            counts[r.reason] = counts.get(r.reason, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
