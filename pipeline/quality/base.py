"""The filter interface every quality check implements, and the record text the checks read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.records import Record

# The record fields a filter can be pointed at.
TextField = Literal["instruction", "input", "output"]

# A drop is (reason, value): a short snake_case reason and the measured value that decided it.
Drop = tuple[str, Any]


@dataclass
class Verdict:
    """What one filter concluded about one record: a drop (or None), detail for the rejection, meta to keep."""

    drop: Drop | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


class QualityFilter:
    """One check. Simple filters implement `filter`; filters that also annotate kept records override `check`."""

    name: str = "filter"

    def filter(self, record: Record) -> Drop | None:
        """None to keep the record, or (reason, value) to drop it."""
        return self.check(record).drop

    def check(self, record: Record) -> Verdict:
        return Verdict(drop=self.filter(record))


def record_fields(record: Record) -> dict[str, str]:
    """instruction / input / output of a record; a multi-turn record maps user turns to the instruction
    and assistant turns to the output, so every filter handles both shapes."""
    if record.messages:
        user = "\n".join(m.content for m in record.messages if m.role in ("user", "system"))
        assistant = "\n".join(m.content for m in record.messages if m.role == "assistant")
        return {"instruction": user or record.instruction, "input": record.input,
                "output": assistant or record.output}
    return {"instruction": record.instruction, "input": record.input, "output": record.output}
