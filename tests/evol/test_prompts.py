"""Golden-prompt tests: every Evol-Instruct template renders with the task's fields to the expected text."""

from __future__ import annotations

import pytest

from pipeline.errors import TemplateError
from pipeline.evol.operations import INPUT_FORMATS, OPERATIONS
from pipeline.evol.prompts import (
    equality_messages,
    evolution_messages,
    improve_response_messages,
    prompt_text,
    response_messages,
)
from pipeline.records import Record

INTRO = ("You are an instruction rewriter. Turn the instruction below into a somewhat harder version of itself, "
         "one that makes well-known AI assistants such as ChatGPT and GPT-4 work a little more.\n\n")
RULES = (
    "The rewritten instruction must still be sensible: a person has to be able to understand it and answer it.\n"
    "Leave any non-text part of the original (tables, code, data) exactly as it is.\n"
    "Lengthen the original by about 10 to 20 words, no more.\n"
    'Do not use the phrases "original prompt", "given prompt" or "rewritten prompt" in what you write.\n'
    "Reply with the rewritten instruction only, with no comments before or after it.\n\n"
)
TASK = "#Original Prompt#:\nSort the numbers.\n\n3, 1, 2\n\n#Rewritten Prompt#:\n"
HOW = {
    "add_constraints": "How to make it harder: add exactly one further constraint or requirement that the answer "
                       "has to meet.\n\n",
    "deepening": "How to make it harder: where the instruction asks about a particular subject, ask for a deeper "
                 "and wider treatment of that subject.\n\n",
    "concretizing": "How to make it harder: swap the general ideas in it for more specific, concrete ones.\n\n",
    "increase_reasoning": "How to make it harder: if a few simple thinking steps would settle it, rewrite it so "
                          "that it explicitly asks for reasoning through several steps.\n\n",
}
RECORD = Record(instruction="Sort the numbers.", input="3, 1, 2")


def _content(messages: list[dict[str, str]]) -> str:
    assert len(messages) == 1 and messages[0]["role"] == "user"
    return messages[0]["content"]


def test_prompt_text_folds_input_below_instruction() -> None:
    assert prompt_text(RECORD) == "Sort the numbers.\n\n3, 1, 2"
    assert prompt_text(Record(instruction=" Explain gravity. ")) == "Explain gravity."


@pytest.mark.parametrize("op", sorted(HOW))
def test_depth_operation_golden(op: str) -> None:
    assert _content(evolution_messages(op, prompt_text(RECORD))) == INTRO + HOW[op] + RULES + TASK


def test_complicate_input_golden_json() -> None:
    expected = (
        INTRO
        + "How to make it harder: write new input data into the instruction that the answer must work from.\n"
        "Format of the added data: json\n"
        "The data must be JSON data, short, realistic and written out in full inside the instruction, and the "
        "instruction must say how to use it.\n\n"
        "Example instruction: List the people who are older than 30.\n"
        "Example rewrite: From the JSON list below, give the names of everyone older than 30 and the average "
        "age of that group.\n"
        '[{"name": "Ana", "age": 34}, {"name": "Ben", "age": 27}, {"name": "Chen", "age": 41}]\n\n'
        + RULES + TASK
    )
    assert _content(evolution_messages("complicate_input", prompt_text(RECORD), "json")) == expected


@pytest.mark.parametrize("fmt", INPUT_FORMATS)
def test_complicate_input_renders_every_format_with_an_example(fmt: str) -> None:
    text = _content(evolution_messages("complicate_input", "Sort the numbers.", fmt))
    assert f"Format of the added data: {fmt}\n" in text
    assert "Example instruction: " in text and "Example rewrite: " in text
    assert text.endswith("#Original Prompt#:\nSort the numbers.\n\n#Rewritten Prompt#:\n")


def test_complicate_input_unknown_format_has_no_example_and_needs_a_format() -> None:
    text = _content(evolution_messages("complicate_input", "Sort the numbers.", "csv"))
    assert "The data must be data in csv form," in text and "Example" not in text
    with pytest.raises(ValueError):
        evolution_messages("complicate_input", "Sort the numbers.")


def test_breadth_golden() -> None:
    expected = (
        "You are an instruction rewriter. Take the instruction below only as a starting point and write a "
        "completely new instruction.\n"
        "The new instruction must belong to the same domain as the original but cover something rarer, a topic "
        "or task people ask about less often.\n"
        "Keep it about as long and as hard as the original. A person has to be able to understand it and "
        "answer it.\n"
        'Do not use the phrases "original prompt", "given prompt" or "created prompt" in what you write.\n'
        "Reply with the new instruction only, with no comments before or after it.\n\n"
        "#Original Prompt#:\nSort the numbers.\n\n3, 1, 2\n\n#Created Prompt#:\n"
    )
    assert _content(evolution_messages("breadth", prompt_text(RECORD))) == expected


def test_every_operation_renders() -> None:
    for op in OPERATIONS:
        text = _content(evolution_messages(op, "Explain gravity.", "table"))
        assert "#Original Prompt#:\nExplain gravity.\n" in text


def test_equality_golden() -> None:
    expected = (
        "Below are two instructions written for an AI assistant. Decide whether they are equal, which means "
        "that both of these hold:\n"
        "1. They set the same constraints and requirements.\n"
        "2. Their questions go to the same depth and cover the same breadth.\n\n"
        "First instruction:\nExplain gravity.\n\n"
        "Second instruction:\nExplain gravity to a child.\n\n"
        'Answer with exactly "Equal" or "Not Equal" and give no reasons.\n'
    )
    assert _content(equality_messages("Explain gravity.", "Explain gravity to a child.")) == expected


def test_respond_golden() -> None:
    system = ("You are a helpful assistant. Give a complete, accurate and well-organised answer to the user's "
              "request.\n")
    assert response_messages("Explain gravity.") == [
        {"role": "system", "content": system}, {"role": "user", "content": "Explain gravity."}]
    assert response_messages("Explain gravity.", system=False) == [{"role": "user", "content": "Explain gravity."}]


def test_improve_response_golden() -> None:
    expected = (
        "You are improving an answer that an AI assistant gave. Rewrite the answer below so that it is more "
        "detailed and thorough, while it still answers the instruction correctly and truthfully.\n"
        "Keep everything in the answer that is right. Reply with the improved answer only, with no comments "
        "before or after it.\n\n"
        "#Instruction#:\nExplain gravity.\n\n#Answer#:\nMasses attract.\n\n#Improved Answer#:\n"
    )
    assert _content(improve_response_messages("Explain gravity.", "Masses attract.", "detail")) == expected


def test_missing_template_is_a_template_error(tmp_path) -> None:
    with pytest.raises(TemplateError):
        evolution_messages("deepening", "x", prompts_dir=tmp_path)
