"""Broken text: control characters, the U+FFFD replacement character, and UTF-8 read as Latin-1/CP1252."""

from __future__ import annotations

import re
import unicodedata

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.quality.base import Drop, QualityFilter, TextField, record_fields
from pipeline.records import Record

# UTF-8 bytes of accented letters and typographic punctuation decoded as CP1252/Latin-1: "Ã©" for "é",
# "â€™" for a right quote, "Â " for a no-break space. These pairs almost never occur in real text.
_MOJIBAKE = re.compile(r"Ã[\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|â€[\u0080-\u00bf™œ\u009d“”˜¦¢¡]|Â[\u00a0-\u00bf]")
_ALLOWED_CONTROLS = frozenset("\n\t\r")


class EncodingConfig(StrictModel):
    enabled: bool = True
    fields: list[TextField] = Field(default_factory=lambda: ["instruction", "input", "output"])


class EncodingFilter(QualityFilter):
    name = "encoding"

    def __init__(self, config: EncodingConfig | None = None):
        self.config = config or EncodingConfig()

    def filter(self, record: Record) -> Drop | None:
        fields = record_fields(record)
        for field in self.config.fields:
            text = fields.get(field, "")
            if "\ufffd" in text:
                return "replacement_character", text.count("\ufffd")
            for ch in text:
                if ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) == "Cc":
                    return "control_character", f"U+{ord(ch):04X}"
            match = _MOJIBAKE.search(text)
            if match:
                return "mojibake", match.group(0)
        return None
