"""Canned fake-server replies for the Evol-Instruct prompts (in-depth and in-breadth evolution, answers)."""

from __future__ import annotations

import hashlib
import re

from pipeline.testing.fake_server import FakeRequest, Reply
from pipeline.testing.responders.rule import Rule

# Phrases only our prompts/evol/ templates contain.
EVOLVE_MARK = "You are an instruction rewriter."
EQUALITY_MARK = 'Answer with exactly "Equal" or "Not Equal"'
RESPOND_MARK = "Give a complete, accurate and well-organised answer to the user's request."
IMPROVE_MARK = "#Improved Answer#:"

_ORIGINAL = "#Original Prompt#:"
_FORMAT = re.compile(r"^Format of the added data: (\S+)", re.MULTILINE)

# Clauses of 10 to 20 words that each depth operation appends; the one used is fixed by the prompt's hash.
_ADDITIONS = {
    "one further constraint or requirement": (
        "Keep the answer under 150 words and support every point with one concrete example.",
        "Do this without using any technical jargon, so that a twelve-year-old could follow it.",
        "Also make sure the answer lists exactly three points, ordered from most to least important.",
    ),
    "deeper and wider treatment": (
        "Also discuss the underlying causes, the main trade-offs involved, and where experts still disagree.",
        "Go beyond the basics and explain how this has changed over the last fifty years.",
    ),
    "more specific, concrete ones": (
        "Focus specifically on a small family bakery in Lisbon during its first year of business.",
        "Take as your case a public library in a town of about twenty thousand people.",
    ),
    "reasoning through several steps": (
        "Reason step by step, showing each intermediate result before you give the final answer.",
        "First list what is known, then work through each step in order, and only then conclude.",
    ),
}
_DATA = {
    "table": "Use the table below in your answer:\n| Item | Count |\n|---|---|\n| A | 12 |\n| B | 7 |\n| C | 19 |",
    "json": 'Use this JSON data in your answer: {"items": [{"name": "A", "count": 12}, {"name": "B", "count": 7}]}',
    "xml": 'Use this XML data in your answer: <items><item name="A" count="12"/><item name="B" count="7"/></items>',
    "code": "Base your answer on this function:\n```python\ndef total(xs):\n    return sum(x * 2 for x in xs)\n```",
    "formula": "Use the formula y = a * x^2 + b * x + c with a = 2, b = -3 and c = 1 in your answer.",
}


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def original_instruction(prompt_text: str) -> str:
    """The instruction an evolution prompt asks to rewrite (the text under its last #Original Prompt# label)."""
    tail = prompt_text.rsplit(_ORIGINAL, 1)[-1]
    return re.split(r"\n#(?:Rewritten|Created) Prompt#:", tail, maxsplit=1)[0].strip()


def evolve_reply(request: FakeRequest) -> str:
    """A rewrite that keeps the original and adds 10-20 words (or data, or a new task for breadth)."""
    text = request.prompt_text
    original = original_instruction(text)
    h = _digest(text)
    if "#Created Prompt#:" in text:
        topic = original.split("\n")[0].rstrip(" .?!:")
        topic = topic[0].lower() + topic[1:] if topic else "solve this task"
        rewrite = (f"Describe an unusual real-world situation in which someone would need to {topic}, "
                   "and explain how they should approach it.")
    else:
        found = _FORMAT.search(text)
        if found:
            rewrite = f"{original}\n\n{_DATA.get(found.group(1), _DATA['table'])}"
        else:
            clauses = next((v for k, v in _ADDITIONS.items() if k in text), _ADDITIONS["deeper and wider treatment"])
            rewrite = f"{original} {clauses[h % len(clauses)]}"
    # Now and then echo the label, as real models do, so parsers meet it.
    return f"#Rewritten Prompt#:\n{rewrite}" if h % 7 == 0 else rewrite


def equality_reply(request: FakeRequest) -> str:
    """Mostly "Not Equal"; about one pair in ten is judged "Equal"."""
    return "Equal" if _digest(request.prompt_text) % 10 == 0 else "Not Equal"


def respond_reply(request: FakeRequest) -> str | Reply:
    """A 40-120 word answer; about one in twenty is a short apology (Evol-Instruct's "struggled" case)."""
    from pipeline.testing.responders import fallback_text  # the package imports this module

    if _digest(request.prompt_text) % 20 == 0:
        return "I'm sorry, but I can't help with that request as it is written."
    return " ".join(fallback_text(request.prompt_text, i) for i in (0, 1))


def improve_reply(request: FakeRequest) -> str:
    """The answer given back with one extra sentence."""
    answer = request.prompt_text.rsplit("#Answer#:", 1)[-1].split(IMPROVE_MARK, 1)[0].strip()
    return f"{answer} To sum up, each of these points matters, and together they give a complete picture."


RULES: list[Rule] = [
    Rule("evol_instruct.evolve", lambda r: EVOLVE_MARK in r.prompt_text, evolve_reply),
    Rule("evol_instruct.equality", lambda r: EQUALITY_MARK in r.prompt_text, equality_reply),
    Rule("evol_instruct.improve_response", lambda r: IMPROVE_MARK in r.prompt_text, improve_reply),
    Rule("evol_instruct.respond", lambda r: RESPOND_MARK in r.prompt_text, respond_reply),
]
