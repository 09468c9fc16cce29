"""Canned fake-server replies for the LLM-as-judge prompts (quality scores and verdicts)."""

from __future__ import annotations

import hashlib

from pipeline.testing.fake_server import FakeRequest
from pipeline.testing.responders.rule import Rule

# The opening words of prompts/judge/quality.j2.
QUALITY_JUDGE_MARKER = "You are reviewing one example from a dataset that will teach an AI assistant"

# Score by a hash of the prompt: 10% score 2, 10% score 3, 40% score 4, 40% score 5, so a run with the
# default threshold (4) keeps about 80% and every score path is exercised.
_SCORES = (2, 3, 4, 4, 4, 4, 5, 5, 5, 5)
_REASONS = {
    2: "The response misses most of what the instruction asks for.",
    3: "The response is partly right but leaves out an important part of the task.",
    4: "The response is correct and useful, with a small omission.",
    5: "The response is accurate, complete and clearly written.",
}


def judge_score_for(prompt_text: str) -> int:
    """The score the fake judge gives a prompt (tests use it to predict the stage's decisions)."""
    digest = hashlib.sha256(prompt_text.encode("utf-8")).digest()
    return _SCORES[digest[0] % len(_SCORES)]


def _quality_reply(request: FakeRequest) -> str:
    score = judge_score_for(request.prompt_text)
    return f"Score: {score}\nReason: {_REASONS[score]}"


RULES: list[Rule] = [
    Rule("judge.quality", lambda r: QUALITY_JUDGE_MARKER in r.prompt_text, _quality_reply),
]
