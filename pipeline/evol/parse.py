"""Parsers for Evol-Instruct replies: the rewritten instruction (labels stripped) and the equality verdict."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A label the model may echo before its rewrite: "#Rewritten Prompt#:", "**New Instruction:**",
# "Created Prompt:". Only a line that starts with one counts, and it needs a '#' wrapper or a colon, so
# ordinary prose ("New prompt ideas are ...") is left alone.
_LABEL = re.compile(
    r"^[ \t]*(?P<open>[#*]*)[ \t]*(?:the[ \t]+)?"
    r"(?:rewritten|created|new|evolved|improved|revised|given|original)[ \t]+"
    r"(?:prompt|instruction|answer|response)[ \t]*(?P<close>[#*]*)[ \t]*(?P<colon>:?)[ \t]*\**[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_RESULT_WORDS = ("rewritten", "created", "new", "evolved", "improved", "revised")
# A chatty first line such as "Sure! Here is the rewritten prompt:".
_PREAMBLE = re.compile(r"^\s*(?:sure[.!,]?\s*)?(?:here(?:'s| is)|below is)[^\n]{0,80}:[ \t]*\n", re.IGNORECASE)
_NOT_EQUAL = re.compile(r"\b(?:not[\s_-]*(?:the\s+)?(?:equal|same|identical)|unequal|different)\b",
                        re.IGNORECASE)
_EQUAL = re.compile(r"\b(?:equal|same|identical)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedRewrite:
    """The rewritten text, or why there is none (`reason` "parse_failed" or "empty_rewrite")."""

    text: str | None
    reason: str | None = None
    value: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


def _is_label(match: re.Match[str]) -> bool:
    return "#" in match.group("open") + match.group("close") or match.group("colon") == ":"


def strip_labels(reply: str) -> str:
    """The text after the last label line (models sometimes echo the original before the rewrite)."""
    text = reply.strip()
    text = _PREAMBLE.sub("", text, count=1)
    labels = [m for m in _LABEL.finditer(text) if _is_label(m)]
    result_labels = [m for m in labels if any(w in m.group(0).lower() for w in _RESULT_WORDS)]
    if result_labels:
        text = text[result_labels[-1].end():]
    elif labels and labels[0].start() == 0:
        text = text[labels[0].end():]
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" and text.count(text[0]) == 2:
        text = text[1:-1].strip()
    return text


def parse_rewrite(reply: str, finish_reason: str = "stop") -> ParsedRewrite:
    """The rewritten instruction from a reply; a reply cut off by the token limit is not a whole one."""
    if finish_reason == "length":
        return ParsedRewrite(None, "parse_failed", "truncated")
    text = strip_labels(reply)
    if not text:
        return ParsedRewrite(None, "empty_rewrite", "")
    if _LABEL.search(text) and any(_is_label(m) for m in _LABEL.finditer(text)):
        # A label still inside means the reply is an echo of the template, not one instruction.
        return ParsedRewrite(None, "parse_failed", "label_left")
    return ParsedRewrite(text)


def parse_equality(reply: str) -> bool | None:
    """True when the judge says the instructions are equal, False when not, None when it says neither."""
    if _NOT_EQUAL.search(reply):
        return False
    if _EQUAL.search(reply):
        return True
    return None


def normalise(text: str) -> str:
    """Lower case, single spaces: for telling whether a rewrite merely repeats its original."""
    return " ".join(text.lower().split())
