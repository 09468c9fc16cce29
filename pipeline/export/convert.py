"""Per-record conversion for the format stage: messages, validity, token limit and chat text, per batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.errors import TemplateError
from pipeline.export.chat_text import ChatRenderer
from pipeline.export.messages import conversation_problem, record_messages
from pipeline.export.tokens import TokenCounter
from pipeline.records import Record


@dataclass
class Conversion:
    """One record's verdict: a drop (reason, value, detail) or None, and its chat text when asked for."""

    drop: tuple[str, Any, dict[str, Any]] | None = None
    text: str | None = None


# One renderer per (template, prompts_dir) per process: compiling the template once per worker, not per batch.
_RENDERERS: dict[tuple[str, str | None], ChatRenderer] = {}


def _renderer(template: str, prompts_dir: str | None) -> ChatRenderer:
    key = (template, prompts_dir)
    if key not in _RENDERERS:
        _RENDERERS[key] = ChatRenderer(template, prompts_dir)
    return _RENDERERS[key]


def convert_batch(config: Any, prompts_dir: str | None, records: list[Record]) -> list[Conversion]:
    """The format stage's per-record work for one batch (`config` is its FormatConfig)."""
    counter = TokenCounter() if config.max_tokens else None
    render = "text" in config.exports
    out: list[Conversion] = []
    for rec in records:
        messages = record_messages(rec, config.system_prompt)
        problem = conversation_problem(messages)
        if problem is not None:
            out.append(Conversion(drop=(problem[0], problem[1], {})))
            continue
        if counter is not None and (n := counter.count(messages)) > config.max_tokens:
            out.append(Conversion(drop=("too_many_tokens", n, {"limit": config.max_tokens})))
            continue
        if not render:
            out.append(Conversion())
            continue
        try:
            out.append(Conversion(text=_renderer(config.chat_template, prompts_dir).render(messages)))
        except TemplateError as exc:
            out.append(Conversion(drop=("chat_template_failed", exc.message, {})))
    return out
