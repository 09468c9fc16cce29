"""Refusals and model boilerplate in the output ("As an AI language model", "I'm sorry, but I can't ...")."""

from __future__ import annotations

import re

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.quality.base import Drop, QualityFilter, TextField, record_fields
from pipeline.records import Record

# A model talking about itself: matched anywhere in the text, case-insensitively, curly quotes folded.
DEFAULT_PHRASES = (
    "as an ai language model",
    "as a language model",
    "as an ai model",
    "as an ai assistant",
    "as an artificial intelligence",
    "i am an ai language model",
    "i'm an ai language model",
    "my knowledge cutoff",
    "trained by openai",
    "i don't have personal opinions",
    "i do not have personal opinions",
    "i don't have the ability to",
    "i do not have the ability to",
)
# Declining: matched only where the output begins, since "I'm sorry, but ..." inside an answer is often
# the requested text (an apology email, a polite refusal the user asked for). Evol-Instruct (Xu et al.,
# 2023) likewise treats "sorry" as a failure sign only in a short response.
DEFAULT_OPENINGS = (
    "i'm sorry, but i can",
    "i am sorry, but i can",
    "i'm sorry, but i am unable",
    "i'm sorry, but i'm unable",
    "i'm sorry, but as an ai",
    "i'm sorry, i can't",
    "i'm sorry, i cannot",
    "i apologize, but i can",
    "i apologize, but i am unable",
    "sorry, but i can't",
    "sorry, i can't",
    "i cannot fulfill",
    "i cannot provide",
    "i cannot assist",
    "i cannot help",
    "i can't assist",
    "i can't help with",
    "i can't provide",
    "i'm unable to",
    "i am unable to",
    "i'm not able to",
    "unfortunately, i cannot",
    "unfortunately, i can't",
)


def _fold(text: str) -> str:
    return text.lower().replace("\u2019", "'")


def _alternation(phrases: list[str]) -> str:
    folded = sorted({_fold(p) for p in phrases if p.strip()}, key=len, reverse=True)
    return "|".join(re.escape(p) for p in folded)


class RefusalConfig(StrictModel):
    enabled: bool = True
    phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_PHRASES))
    opening_phrases: list[str] = Field(default_factory=lambda: list(DEFAULT_OPENINGS))
    fields: list[TextField] = Field(default_factory=lambda: ["output"])


class RefusalFilter(QualityFilter):
    name = "refusal"

    def __init__(self, config: RefusalConfig | None = None):
        self.config = config or RefusalConfig()
        anywhere = _alternation(self.config.phrases)
        opening = _alternation(self.config.opening_phrases)
        self._anywhere = re.compile(anywhere) if anywhere else None
        # Leading whitespace, quotes and markdown emphasis do not hide an opening refusal.
        self._opening = re.compile(r"^[\s\"'*_>]*(?:" + opening + ")") if opening else None

    def filter(self, record: Record) -> Drop | None:
        fields = record_fields(record)
        for field in self.config.fields:
            text = _fold(fields.get(field, ""))
            match = (self._opening.match(text) if self._opening else None) or (
                self._anywhere.search(text) if self._anywhere else None)
            if match:
                return "refusal_phrase", match.group(0).strip(" \t\n\"'*_>")
        return None
