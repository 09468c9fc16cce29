"""Repetition (Gopher-style): duplicated lines and a dominant word n-gram, tuned for short instruction answers."""

from __future__ import annotations

import re
from collections import Counter

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.quality.base import Drop, QualityFilter, TextField, record_fields
from pipeline.records import Record

_WORD = re.compile(r"\w+")


class RepetitionConfig(StrictModel):
    enabled: bool = True
    fields: list[TextField] = Field(default_factory=lambda: ["output"])
    # Gopher (Rae et al., 2021, table A1) drops a document when > 30% of its lines are duplicates. Code and
    # tables repeat short lines ("}", "|---|") legitimately, so only lines of at least `min_line_chars`
    # characters count, and only texts with at least `min_lines` such lines are judged.
    max_duplicate_line_fraction: float = Field(0.30, ge=0, le=1)
    min_line_chars: int = Field(20, ge=1)
    min_lines: int = Field(4, ge=2)
    # Gopher's caps on the character share of the most frequent 2-, 3- and 4-gram are 0.20, 0.18, 0.16 and
    # apply to documents of >= 50 words. On short answers one repeated phrase ("the capital of") already
    # crosses them, so we judge only texts of >= `min_words_for_ngrams` words and loosen the caps to
    # 0.30/0.25/0.20: a degenerate loop ("I think that I think that ...") scores 0.5 or more.
    max_top_ngram_share: dict[int, float] = Field(default_factory=lambda: {2: 0.30, 3: 0.25, 4: 0.20})
    min_words_for_ngrams: int = Field(50, ge=1)
    # Gopher caps the share of characters inside duplicated 5- to 10-grams (0.15 down to 0.10). A model
    # that repeats a paragraph verbatim trips the 10-gram rule; we use 10-grams only, at twice Gopher's cap,
    # since list answers legitimately share shorter templates ("The capital of X is ...").
    duplicate_ngram_n: int = Field(10, ge=2)
    max_duplicate_ngram_fraction: float = Field(0.20, ge=0, le=1)


def duplicate_line_fraction(text: str, min_line_chars: int = 20) -> tuple[float, int]:
    """Fraction of the counted lines that repeat an earlier line, and how many lines were counted."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if len(ln) >= min_line_chars]
    if not lines:
        return 0.0, 0
    return 1.0 - len(set(lines)) / len(lines), len(lines)


def top_ngram_share(words: list[str], n: int) -> tuple[float, str]:
    """Characters covered by the most frequent word n-gram (all its occurrences) over all word characters,
    as Gopher measures it; 0 when no n-gram occurs twice."""
    if len(words) < n:
        return 0.0, ""
    counts = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    gram, count = counts.most_common(1)[0]
    if count < 2:
        return 0.0, ""
    total = sum(len(w) for w in words)
    return count * sum(len(w) for w in gram) / max(total, 1), " ".join(gram)


def duplicate_ngram_fraction(words: list[str], n: int) -> float:
    """Share of word characters covered by word n-grams that occur more than once (Gopher's measure)."""
    if len(words) < n:
        return 0.0
    starts: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(words) - n + 1):
        starts.setdefault(tuple(words[i:i + n]), []).append(i)
    covered = [False] * len(words)
    for positions in starts.values():
        if len(positions) > 1:
            for i in positions:
                covered[i:i + n] = [True] * n
    total = sum(len(w) for w in words)
    return sum(len(w) for w, c in zip(words, covered) if c) / max(total, 1)


class RepetitionFilter(QualityFilter):
    name = "repetition"

    def __init__(self, config: RepetitionConfig | None = None):
        self.config = config or RepetitionConfig()

    def filter(self, record: Record) -> Drop | None:
        cfg = self.config
        fields = record_fields(record)
        for field in cfg.fields:
            text = fields.get(field, "")
            fraction, counted = duplicate_line_fraction(text, cfg.min_line_chars)
            if counted >= cfg.min_lines and fraction > cfg.max_duplicate_line_fraction:
                return "duplicate_line_fraction", round(fraction, 4)
            words = _WORD.findall(text.lower())
            if len(words) < cfg.min_words_for_ngrams:
                continue
            for n, cap in sorted(cfg.max_top_ngram_share.items()):
                share, _gram = top_ngram_share(words, n)
                if share > cap:
                    return f"top_{n}gram_share", round(share, 4)
            duplicated = duplicate_ngram_fraction(words, cfg.duplicate_ngram_n)
            if duplicated > cfg.max_duplicate_ngram_fraction:
                return f"duplicate_{cfg.duplicate_ngram_n}gram_fraction", round(duplicated, 4)
        return None
