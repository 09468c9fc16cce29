"""The fake server's default responder: the first matching canned rule answers, else a deterministic filler."""

from __future__ import annotations

import hashlib
import random

from pipeline.testing.fake_server import FakeRequest, Reply
from pipeline.testing.responders import evol_instruct, judge, self_instruct
from pipeline.testing.responders.rule import Rule

__all__ = ["Rule", "all_rules", "default_responder", "fallback_text"]

# A sentence is opener + subject + verb + object + tail, 10 to 17 words: stopping at the first sentence
# that reaches a target of 20-43 words always ends between 20 and 59 words.
_OPENERS = ("In short,", "In practice,", "As a rule,", "To begin with,", "Most of the time,", "Put simply,")
_SUBJECTS = (
    "a careful plan",
    "the main idea",
    "a simple method",
    "this approach",
    "a good example",
    "the first step",
    "a clear summary",
    "the final answer",
    "a short checklist",
    "the basic rule",
)
_VERBS = ("explains", "shows", "improves", "supports", "describes", "clarifies", "organises", "reveals")
_OBJECTS = (
    "the key steps",
    "the underlying problem",
    "each part of the task",
    "the most common mistakes",
    "how the pieces fit together",
    "the reasons behind the result",
    "what the reader needs",
    "the trade-offs",
)
_TAILS = (
    "in most cases.",
    "for most readers.",
    "with little effort.",
    "step by step.",
    "without extra tools.",
    "when time is short.",
    "before going further.",
    "in a few minutes.",
)


def all_rules() -> list[Rule]:
    """Every canned rule, read afresh each call so rules added to a submodule's list take effect."""
    return [*self_instruct.RULES, *evol_instruct.RULES, *judge.RULES]


def default_responder(request: FakeRequest) -> str | Reply:
    """Answer with the first rule that matches the request, or with `fallback_text`."""
    for rule in all_rules():
        if rule.matches(request):
            return rule.reply(request)
    return fallback_text(request.prompt_text, request.choice_index)


def fallback_text(prompt_text: str, choice_index: int = 0) -> str:
    """A plausible English answer of 20-60 words, fixed by the prompt text and choice index."""
    digest = hashlib.sha256(f"{choice_index}\x00{prompt_text}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    target = rng.randint(20, 43)
    sentences: list[str] = []
    words = 0
    while words < target:
        parts = [rng.choice(pool) for pool in (_OPENERS, _SUBJECTS, _VERBS, _OBJECTS, _TAILS)]
        sentence = " ".join(parts)
        sentences.append(sentence[0].upper() + sentence[1:])
        words += len(sentence.split())
    return " ".join(sentences)
