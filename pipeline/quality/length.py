"""Length bounds per field (words and characters) and the empty-output check."""

from __future__ import annotations

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.quality.base import Drop, QualityFilter, record_fields
from pipeline.records import Record


class FieldBounds(StrictModel):
    """Inclusive bounds; None means unbounded."""

    min_words: int | None = Field(None, ge=0)
    max_words: int | None = Field(None, ge=1)
    min_chars: int | None = Field(None, ge=0)
    max_chars: int | None = Field(None, ge=1)


class LengthConfig(StrictModel):
    enabled: bool = True
    # Self-Instruct (Wang et al., 2023) keeps generated instructions of 4 to 150 words; Evol-Instruct
    # (Xu et al., 2023) lets each round add 10-20 words, so after 4 rounds we allow twice that ceiling.
    # The floor is 1 word: short seed instructions ("Sort these numbers.") are real tasks.
    instruction: FieldBounds = Field(default_factory=lambda: FieldBounds(min_words=1, max_words=300,
                                                                         max_chars=4000))
    input: FieldBounds = Field(default_factory=lambda: FieldBounds(max_words=2000, max_chars=20000))
    # No word floor: a label ("Positive") or a number is a complete answer; emptiness is its own filter.
    # Gopher's 50-word minimum (Rae et al., 2021) would drop most real instruction answers.
    output: FieldBounds = Field(default_factory=lambda: FieldBounds(max_words=4000, max_chars=40000))


class LengthFilter(QualityFilter):
    name = "length"

    def __init__(self, config: LengthConfig | None = None):
        self.config = config or LengthConfig()

    def filter(self, record: Record) -> Drop | None:
        fields = record_fields(record)
        for field in ("instruction", "input", "output"):
            bounds: FieldBounds = getattr(self.config, field)
            text = fields[field]
            words = len(text.split())
            chars = len(text)
            if bounds.min_words is not None and words < bounds.min_words:
                return f"{field}_too_few_words", words
            if bounds.max_words is not None and words > bounds.max_words:
                return f"{field}_too_many_words", words
            if bounds.min_chars is not None and chars < bounds.min_chars:
                return f"{field}_too_few_chars", chars
            if bounds.max_chars is not None and chars > bounds.max_chars:
                return f"{field}_too_many_chars", chars
        return None


class EmptyOutputConfig(StrictModel):
    enabled: bool = True


class EmptyOutputFilter(QualityFilter):
    """An output with no letter or digit (empty, whitespace, lone punctuation) answers nothing."""

    name = "empty_output"

    def __init__(self, config: EmptyOutputConfig | None = None):
        self.config = config or EmptyOutputConfig()

    def filter(self, record: Record) -> Drop | None:
        output = record_fields(record)["output"]
        if not any(ch.isalnum() for ch in output):
            return "empty_output", len(output)
        return None
