"""Builds the Evol-Instruct chat messages from templates under prompts/evol/ (pure: text in, messages out)."""

from __future__ import annotations

from pathlib import Path

from pipeline.evol.operations import template_for
from pipeline.prompts import render
from pipeline.records import Record

# Aspects of an answer that response evolution improves, one per call.
RESPONSE_ASPECTS: tuple[str, ...] = ("helpfulness", "relevance", "depth", "creativity", "detail")


def prompt_text(record: Record) -> str:
    """The whole prompt a record poses: the instruction with its input folded in below it.

    The paper evolves the whole prompt, so an evolved record carries everything in `instruction` and an
    empty `input`; complicate input in particular writes new data into the prompt itself.
    """
    if record.input.strip():
        return f"{record.instruction.strip()}\n\n{record.input.strip()}"
    return record.instruction.strip()


def evolution_messages(operation: str, instruction: str, data_format: str | None = None,
                       prompts_dir: str | Path | None = None) -> list[dict[str, str]]:
    """The one user message asking the model to perform `operation` on `instruction`."""
    variables: dict[str, str] = {"instruction": instruction}
    if operation == "complicate_input":
        if not data_format:
            raise ValueError("complicate_input needs a data_format")
        variables["data_format"] = data_format
    content = render(template_for(operation), prompts_dir=prompts_dir, **variables)
    return [{"role": "user", "content": content}]


def equality_messages(original: str, evolved: str, prompts_dir: str | Path | None = None
                      ) -> list[dict[str, str]]:
    """The judge's question for rule 1: do the two instructions ask for the same thing?"""
    content = render("evol/equality.j2", prompts_dir=prompts_dir, first=original, second=evolved)
    return [{"role": "user", "content": content}]


def response_messages(instruction: str, prompts_dir: str | Path | None = None, system: bool = True
                      ) -> list[dict[str, str]]:
    """The evolved instruction sent as it is, as the user message, after our system message (optional).

    The authors' script sends every request with a short helpful-assistant system message; ours says the
    same in our words (prompts/evol/respond.j2).
    """
    messages = []
    if system:
        messages.append({"role": "system", "content": render("evol/respond.j2", prompts_dir=prompts_dir)})
    messages.append({"role": "user", "content": instruction})
    return messages


def improve_response_messages(instruction: str, response: str, aspect: str,
                              prompts_dir: str | Path | None = None) -> list[dict[str, str]]:
    """Response evolution: rewrite `response` to be better in `aspect`, still answering `instruction`."""
    content = render("evol/improve_response.j2", prompts_dir=prompts_dir, instruction=instruction,
                     response=response, aspect=aspect)
    return [{"role": "user", "content": content}]
