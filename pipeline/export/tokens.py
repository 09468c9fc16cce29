"""Token estimates without downloads: a characters-per-token rule, or a tokenizer directory the user gives."""

from __future__ import annotations

import math
from typing import Any

from pipeline.errors import ConfigError

# OpenAI's rule of thumb: one token is about 4 characters of English text (their tokenizer help page).
# tiktoken would be exact for OpenAI models, but it downloads its encodings at run time.
CHARS_PER_TOKEN = 4
# OpenAI cookbook "Data preparation and analysis for chat model fine-tuning": 3 tokens of framing per
# message, 3 more that prime the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


class TokenCounter:
    """`count(messages)`: chars/4 per message plus framing, or the exact count through a local tokenizer."""

    def __init__(self, tokenizer_dir: str | None = None):
        self.tokenizer_dir = tokenizer_dir
        self._tokenizer: Any = None
        if tokenizer_dir:
            try:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
            except Exception as exc:  # noqa: BLE001 (missing files, bad JSON, unknown class: one message)
                raise ConfigError(f"cannot load a tokenizer from this directory ({exc})".splitlines()[0]
                                  + "; drop --tokenizer to use the 4-characters-per-token estimate",
                                  path=tokenizer_dir) from None

    @property
    def method(self) -> str:
        return f"tokenizer {self.tokenizer_dir}" if self._tokenizer is not None else "estimate (4 chars/token)"

    def count_text(self, text: str) -> int:
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False))
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def count(self, messages: list[dict[str, Any]]) -> int:
        if self._tokenizer is not None and getattr(self._tokenizer, "chat_template", None):
            text = self._tokenizer.apply_chat_template(messages, tokenize=False)
            return len(self._tokenizer.encode(text, add_special_tokens=False))
        total = TOKENS_PER_REPLY
        for m in messages:
            content = m.get("content")
            total += TOKENS_PER_MESSAGE + (self.count_text(content) if isinstance(content, str) else 0)
        return total
