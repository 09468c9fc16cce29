"""The judge prompt (golden text) and the parser of its replies."""

from __future__ import annotations

import pytest

from pipeline.quality.judge import JudgeScore, build_judge_prompt, parse_judge_reply
from pipeline.records import Record

GOLDEN_WITH_INPUT = """\
You are reviewing one example from a dataset that will teach an AI assistant to follow instructions. \
Decide whether it is good enough to learn from.

Instruction:
Classify the sentiment of the review.

Input:
The soup was cold and the waiter ignored us.

Response:
Negative

Rate how well the response carries out the instruction for the given input. Judge accuracy first, then \
whether it is helpful, complete and clearly written. Use one whole number from 1 to 5:
1 = wrong, off-topic, a refusal or harmful
2 = mostly wrong or badly incomplete
3 = partly right, with clear errors or gaps
4 = correct and useful, with minor flaws
5 = correct, complete and clearly written

Answer with exactly two lines and nothing else:
Score: <a number from 1 to 5>
Reason: <one short sentence>
"""


def test_golden_prompt_with_input() -> None:
    record = Record(instruction="Classify the sentiment of the review.",
                    input="The soup was cold and the waiter ignored us.", output="Negative")
    assert build_judge_prompt(record) == GOLDEN_WITH_INPUT


def test_golden_prompt_without_input() -> None:
    prompt = build_judge_prompt(Record(instruction="Name a primary color.", output="Red"))
    assert "Input:" not in prompt and "for the given input" not in prompt
    assert "Instruction:\nName a primary color.\n\nResponse:\nRed\n\nRate how well the response carries out the " \
           "instruction. Judge" in prompt


@pytest.mark.parametrize(("reply", "score", "reason"), [
    ("Score: 4\nReason: Correct but terse.", 4.0, "Correct but terse."),
    ("**Score:** 5/5\n**Reason:** Accurate and complete.", 5.0, "Accurate and complete."),
    ("I would rate this 3 out of 5 because it skips a step.", 3.0, ("I would rate this 3 out of 5 because it "
     "skips a step.")),
    ("4", 4.0, ""),
    ("Score: 4.5 - mostly right", 4.5, "- mostly right"),
])
def test_parse_readable_scores(reply: str, score: float, reason: str) -> None:
    assert parse_judge_reply(reply) == JudgeScore(score, reason)


@pytest.mark.parametrize("reply", ["Looks fine to me.", "Score: 9\nReason: great", "Score: 0", ""])
def test_unreadable_scores_are_none(reply: str) -> None:
    assert parse_judge_reply(reply).score is None
