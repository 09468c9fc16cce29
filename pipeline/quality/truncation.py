"""Outputs cut off by the token limit: the generator said so, or long prose stops mid-sentence."""

from __future__ import annotations

import re

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.quality.base import Drop, QualityFilter, record_fields
from pipeline.records import Record

# A list item or heading: these end without a full stop by design.
_ITEM = re.compile(r"^(?:[-*+•#>|]|\d+[.)]|[a-zA-Z][.)]\s)")
# A cut at a word boundary leaves a plain word last; "app.log", "x+1" or "(see above)" are finished tokens.
_PLAIN_WORD = re.compile(r"^[A-Za-z][A-Za-z'’-]*,?$")


class TruncationConfig(StrictModel):
    enabled: bool = True
    # Meta keys where stages store the generator's finish_reason; "length" means the token limit cut it.
    # Self-Instruct (Wang et al., 2023) drops such responses whole.
    meta_keys: list[str] = Field(default_factory=lambda: ["finish_reason", "output_finish_reason"])
    # Without a finish_reason, a long output whose last line is prose ending in a bare word (no closing
    # punctuation) is taken as cut off. Short answers ("Positive", "42"), list items, headings and code
    # end without a full stop, so only outputs of >= `min_words` words whose last line is prose of
    # >= `min_last_line_words` words are judged.
    check_sentence_end: bool = True
    min_words: int = Field(40, ge=1)
    min_last_line_words: int = Field(8, ge=1)


class TruncationFilter(QualityFilter):
    name = "truncation"

    def __init__(self, config: TruncationConfig | None = None):
        self.config = config or TruncationConfig()

    def filter(self, record: Record) -> Drop | None:
        cfg = self.config
        for key in cfg.meta_keys:
            if record.meta.get(key) == "length":
                return "finish_reason_length", "length"
        if not cfg.check_sentence_end:
            return None
        output = record_fields(record)["output"].rstrip()
        if len(output.split()) < cfg.min_words or "```" in output:
            return None
        last_line = output.splitlines()[-1].strip()
        words = last_line.split()
        if len(words) >= cfg.min_last_line_words and not _ITEM.match(last_line) and _PLAIN_WORD.match(words[-1]):
            return "no_sentence_end", " ".join(words[-3:])
        return None
