"""Outputs that only copy the input or the instruction back."""

from __future__ import annotations

import re
import unicodedata

from pipeline.config_base import StrictModel
from pipeline.quality.base import Drop, QualityFilter, record_fields
from pipeline.records import Record

_NON_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """NFKC, case-folded, punctuation and whitespace collapsed: copying survives re-spacing and a full stop."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


class CopyConfig(StrictModel):
    enabled: bool = True
    # Self-Instruct (Wang et al., 2023) drops instances whose output equals the input. We compare after
    # normalisation only: editing tasks (fix the grammar, reformat) legitimately return a near-copy.
    check_input: bool = True
    check_instruction: bool = True


class CopyFilter(QualityFilter):
    name = "copying"

    def __init__(self, config: CopyConfig | None = None):
        self.config = config or CopyConfig()

    def filter(self, record: Record) -> Drop | None:
        fields = record_fields(record)
        output = normalise(fields["output"])
        if not output:
            return None
        if self.config.check_input and output == normalise(fields["input"]):
            return "output_copies_input", len(output.split())
        if self.config.check_instruction and output == normalise(fields["instruction"]):
            return "output_copies_instruction", len(output.split())
        return None
