"""The model judge (AlpaGasus-style): build the scoring prompt from a record, parse the 1-5 score it returns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.generators.config import SamplingOverrides
from pipeline.prompts import render
from pipeline.quality.base import record_fields
from pipeline.records import Record

TEMPLATE = "judge/quality.j2"
_LABELLED = re.compile(r"score\W{0,6}?([0-9]+(?:\.[0-9]+)?)(?:\s*(?:/|out of)\s*5)?", re.IGNORECASE)
_OUT_OF_FIVE = re.compile(r"(?<![\d.])([0-9](?:\.[0-9]+)?)\s*(?:/|out of)\s*5\b", re.IGNORECASE)
_BARE = re.compile(r"^\W*([1-5](?:\.[0-9]+)?)\W*$")
_REASON = re.compile(r"reason\W{0,6}?:\W{0,3}(.+)", re.IGNORECASE | re.DOTALL)


class JudgeConfig(StrictModel):
    # Off by default: it costs one model call per record that survived the heuristic filters.
    enabled: bool = False
    # AlpaGasus (Chen et al., 2024) kept Alpaca examples its judge scored >= 4.5 (about 9K of 52K). Our
    # prompt asks for whole numbers, where 4.5 would keep only perfect 5s; 4.0 keeps "correct with minor
    # flaws" and up, dropping the answers the judge calls partly wrong. Set 4.5 for AlpaGasus' strictness.
    threshold: float = Field(4.0, ge=1, le=5)
    # "reject": an answer without a readable score drops the record (reason judge_unparseable) so nothing
    # unjudged slips through; "keep": the record stays with meta judge_score None and judge_flag set.
    on_unparseable: Literal["reject", "keep"] = "reject"
    # Greedy decoding makes a rerun score the same; two short lines need few tokens.
    sampling: SamplingOverrides = Field(default_factory=lambda: SamplingOverrides(temperature=0.0,
                                                                                  max_tokens=128))


@dataclass(frozen=True)
class JudgeScore:
    score: float | None  # None: no readable score in the reply
    reason: str


def build_judge_prompt(record: Record, prompts_dir: str | Path | None = None) -> str:
    fields = record_fields(record)
    return render(TEMPLATE, prompts_dir=prompts_dir, instruction=fields["instruction"].strip(),
                  input=fields["input"].strip(), output=fields["output"].strip())


def parse_judge_reply(text: str) -> JudgeScore:
    """Find the score in "Score: 4", "**Score:** 4/5", "4 out of 5" or a bare "4"; a score outside 1-5
    counts as unreadable. The reason is the text after "Reason:", else the rest of the reply."""
    text = text.strip()
    score: float | None = None
    rest = text
    for pattern in (_LABELLED, _OUT_OF_FIVE, _BARE):
        match = pattern.search(text)
        if match:
            value = float(match.group(1))
            score = value if 1.0 <= value <= 5.0 else None
            if pattern is not _OUT_OF_FIVE:  # "3 out of 5 because ..." reads as its own reason
                rest = text[:match.start()] + text[match.end():]
            break
    reason_match = _REASON.search(text)
    reason = reason_match.group(1) if reason_match else rest
    return JudgeScore(score=score, reason=" ".join(reason.split())[:300])
