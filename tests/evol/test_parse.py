"""Parsing replies: the rewritten instruction with labels stripped, and the equality verdict."""

from __future__ import annotations

import pytest

from pipeline.evol.parse import parse_equality, parse_rewrite, strip_labels


@pytest.mark.parametrize("reply", [
    "Explain gravity to a child in three sentences.",
    "#Rewritten Prompt#:\nExplain gravity to a child in three sentences.",
    "#Rewritten Prompt#: Explain gravity to a child in three sentences.",
    "**Rewritten Prompt:** Explain gravity to a child in three sentences.",
    "Rewritten Instruction: Explain gravity to a child in three sentences.",
    "#Created Prompt#:\nExplain gravity to a child in three sentences.",
    "Sure! Here is the rewritten prompt:\nExplain gravity to a child in three sentences.",
    '"Explain gravity to a child in three sentences."',
    "#Original Prompt#:\nExplain gravity.\n\n#Rewritten Prompt#:\nExplain gravity to a child in three sentences.",
    "  \n#REWRITTEN PROMPT#\nExplain gravity to a child in three sentences.\n",
])
def test_labels_are_stripped(reply: str) -> None:
    parsed = parse_rewrite(reply)
    assert parsed.ok and parsed.reason is None
    assert parsed.text == "Explain gravity to a child in three sentences."


def test_prose_that_looks_like_a_label_is_kept() -> None:
    text = "New prompt ideas come from reading widely. List five ways to find them."
    assert parse_rewrite(text).text == text


def test_multiline_rewrite_with_data_is_kept_whole() -> None:
    reply = "#Rewritten Prompt#:\nSum the column below.\n| a |\n|---|\n| 1 |\n| 2 |"
    assert parse_rewrite(reply).text == "Sum the column below.\n| a |\n|---|\n| 1 |\n| 2 |"


def test_truncated_reply_is_parse_failed() -> None:
    parsed = parse_rewrite("Explain gravity to a child in", "length")
    assert (parsed.ok, parsed.reason, parsed.value) == (False, "parse_failed", "truncated")


@pytest.mark.parametrize("reply", ["", "   ", "#Rewritten Prompt#:", "**Rewritten Prompt:**\n\n"])
def test_empty_rewrite(reply: str) -> None:
    parsed = parse_rewrite(reply)
    assert (parsed.ok, parsed.reason) == (False, "empty_rewrite")


def test_label_left_inside_is_parse_failed() -> None:
    parsed = parse_rewrite("#Rewritten Prompt#:\nDo X.\n#Original Prompt#:\nDo Y.")
    assert parsed.ok is False and parsed.reason == "parse_failed" and parsed.value == "label_left"


def test_strip_labels_on_improved_answer() -> None:
    assert strip_labels("#Improved Answer#:\nA better answer.") == "A better answer."


@pytest.mark.parametrize(("reply", "expected"), [
    ("Equal", True),
    ("equal.", True),
    ("They are the same.", True),
    ("Not Equal", False),
    ("NOT EQUAL.", False),
    ("Not_Equal", False),
    ("They are not the same", False),
    ("Unequal", False),
    ("The second is different.", False),
    ("I cannot tell.", None),
    ("", None),
])
def test_equality_verdict(reply: str, expected: bool | None) -> None:
    assert parse_equality(reply) is expected
