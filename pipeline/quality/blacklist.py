"""Keyword blacklist: whole words the user never wants, and chat-template tokens leaking into text."""

from __future__ import annotations

import re

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.quality.base import Drop, QualityFilter, TextField, record_fields
from pipeline.records import Record

# Special tokens of common chat templates: their presence means a reply ran past its end of turn.
DEFAULT_SUBSTRINGS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|start_header_id|>",
                      "[INST]", "[/INST]", "<start_of_turn>", "<end_of_turn>")


class BlacklistConfig(StrictModel):
    enabled: bool = True
    # Whole words, case-insensitive. Empty by default: the Self-Instruct blacklist (image, graph, file, ...;
    # Wang et al., 2023) is applied by the self_instruct stage at generation time; this list is for a
    # project's own terms.
    words: list[str] = Field(default_factory=list)
    substrings: list[str] = Field(default_factory=lambda: list(DEFAULT_SUBSTRINGS))
    fields: list[TextField] = Field(default_factory=lambda: ["instruction", "input", "output"])


class BlacklistFilter(QualityFilter):
    name = "blacklist"

    def __init__(self, config: BlacklistConfig | None = None):
        self.config = config or BlacklistConfig()
        words = sorted(set(self.config.words), key=len, reverse=True)
        self._words = (re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
                       if words else None)

    def filter(self, record: Record) -> Drop | None:
        fields = record_fields(record)
        for field in self.config.fields:
            text = fields.get(field, "")
            for token in self.config.substrings:
                if token in text:
                    return "blacklisted_token", token
            if self._words is not None:
                match = self._words.search(text)
                if match:
                    return "blacklisted_word", match.group(0).lower()
        return None
