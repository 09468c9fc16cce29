"""Refusals and model boilerplate in the output ("As an AI language model", "I'm sorry, but ...")."""

from __future__ import annotations

import re

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.quality.base import Drop, QualityFilter, record_fields
from pipeline.records import Record

# Phrases that mark a model talking about itself or declining, as seen in distilled datasets; matched
# case-insensitively with straight or curly apostrophes. None occurs in our seed answers (tested).
DEFAULT_PHRASES = (
    "as an ai language model",
    "as a language model",
    "as an ai model",
    "as an ai assistant",
    "as an artificial intelligence",
    "i'm sorry, but",
    "i am sorry, but",
    "i apologize, but",
    "i cannot fulfill",
    "i cannot provide",
    "i cannot assist",
    "i cannot help with",
    "i can't assist",
    "i can't help with",
    "i can't provide",
    "i'm unable to",
    "i am unable to",
    "i'm not able to",
    "i do not have the ability",
    "i don't have the ability",
    "i don't have access to",
    "i do not have access to",
    "i don't have personal",
    "i do not have personal",
    "my knowledge cutoff",
    "i am not capable of",
    "trained by openai",
)


class RefusalConfig(StrictModel):
    enabled: bool = True
    phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_PHRASES))
    fields: list[str] = ["output"]


class RefusalFilter(QualityFilter):
    name = "refusal"

    def __init__(self, config: RefusalConfig | None = None):
        self.config = config or RefusalConfig()
        alternatives = sorted({p.lower().replace("\u2019", "'") for p in self.config.phrases}, key=len,
                              reverse=True)
        self._pattern = re.compile("|".join(re.escape(p) for p in alternatives)) if alternatives else None

    def filter(self, record: Record) -> Drop | None:
        if self._pattern is None:
            return None
        fields = record_fields(record)
        for field in self.config.fields:
            text = fields.get(field, "").lower().replace("\u2019", "'")
            match = self._pattern.search(text)
            if match:
                return "refusal_phrase", match.group(0)
        return None
