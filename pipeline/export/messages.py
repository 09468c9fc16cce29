"""A record as a conversation (the form every export starts from), and the checks that make it trainable."""

from __future__ import annotations

from typing import Any

from pipeline.records import Record

# Stages that create records; later stages (dedup, quality) only filter them.
SOURCE_STAGES = ("seeds", "self_instruct", "evol_instruct")


def user_text(instruction: str, input: str) -> str:
    """Alpaca's instruction and input become one user turn, separated by a blank line."""
    return f"{instruction}\n\n{input}" if input.strip() else instruction


def record_messages(record: Record, system_prompt: str | None = None) -> list[dict[str, str]]:
    """The record's messages (multi-turn kept as is) or its single turn; the system prompt goes first unless the
    record brings its own system message."""
    if record.messages:
        messages = [{"role": m.role, "content": m.content} for m in record.messages]
    else:
        messages = [{"role": "user", "content": user_text(record.instruction, record.input)},
                    {"role": "assistant", "content": record.output}]
    if system_prompt and not (messages and messages[0]["role"] == "system"):
        messages.insert(0, {"role": "system", "content": system_prompt})
    return messages


def conversation_problem(messages: list[dict[str, Any]]) -> tuple[str, Any] | None:
    """Why this conversation cannot be a training example in every export format, as (reason, value);
    None when it can. Every format we write needs: an optional leading system message, then user and
    assistant turns alternating from a user turn, ending on an assistant turn, no empty content."""
    body = messages[1:] if messages and messages[0]["role"] == "system" else messages
    if messages and messages[0]["role"] == "system" and not messages[0]["content"].strip():
        return "empty_system_prompt", 0
    for m in body:
        if m["role"] not in ("user", "assistant"):
            # ShareGPT and Alpaca have no place for tool or mid-conversation system turns.
            return "unsupported_role", m["role"]
    if not any(m["role"] == "user" for m in body):
        return "empty_instruction", 0
    if not any(m["role"] == "assistant" for m in body):
        return "no_assistant_turn", 0
    for i, m in enumerate(body):
        if not m["content"].strip():
            return ("empty_output" if m["role"] == "assistant" else "empty_instruction"), i
    expected = ["user", "assistant"] * (len(body) // 2 + 1)
    roles = [m["role"] for m in body]
    if roles != expected[: len(roles)]:
        return "turns_not_alternating", ",".join(r[0] for r in roles)
    if roles[-1] != "assistant":
        return "last_turn_not_assistant", roles[-1]
    return None


def source_stage(record: Record) -> str:
    """The stage that wrote the record's content (filters keep records unchanged, so `stage` usually says;
    meta tells the rest)."""
    if record.stage in SOURCE_STAGES:
        return record.stage
    if "evol" in record.meta:
        return "evol_instruct"
    if "icl_ids" in record.meta:
        return "self_instruct"
    return record.stage or "seeds"
