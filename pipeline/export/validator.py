"""Checks an export line by line (OpenAI chat, ShareGPT, Alpaca, text) and names each problem with its line."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.export.messages import user_text
from pipeline.export.tokens import TokenCounter

FORMATS = ("auto", "openai", "sharegpt", "alpaca", "text")
# OpenAI cookbook's fine-tuning data checker uses 16,385 tokens per example (gpt-3.5-turbo's context).
DEFAULT_MAX_TOKENS = 16385

# OpenAI chat fine-tuning keys (cookbook checker, plus the tool-calling fields of the current format).
OPENAI_TOP_KEYS = {"messages", "tools", "parallel_tool_calls", "functions"}
OPENAI_MESSAGE_KEYS = {"role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id"}
OPENAI_ROLES = {"system", "user", "assistant", "tool", "function"}
SHAREGPT_TOP_KEYS = {"conversations", "id", "system"}
SHAREGPT_SPEAKERS = {"system", "human", "gpt"}
ALPACA_REQUIRED = ("instruction", "input", "output")
ALPACA_KEYS = {*ALPACA_REQUIRED, "system", "history"}

Issue = tuple[str, str]  # (code, message)


@dataclass
class Problem:
    line: int
    code: str
    message: str


@dataclass
class ValidationReport:
    path: str
    format: str
    examples: int = 0
    problems: list[Problem] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    max_tokens: int = DEFAULT_MAX_TOKENS
    token_method: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        return dict(Counter(p.code for p in self.problems).most_common())


def detect_format(obj: dict[str, Any]) -> str | None:
    if "messages" in obj:
        return "openai"
    if "conversations" in obj:
        return "sharegpt"
    if "instruction" in obj or "output" in obj:
        return "alpaca"
    if "text" in obj:
        return "text"
    return None


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def check_openai(obj: dict[str, Any]) -> tuple[list[Issue], list[dict[str, Any]]]:
    """OpenAI's data-format rules; returns the issues and the messages (for the token count)."""
    issues: list[Issue] = [("unknown_key", f"unknown top-level key '{k}'") for k in obj if k not in OPENAI_TOP_KEYS]
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        return issues + [("missing_messages_list", "'messages' must be a non-empty list")], []
    good: list[dict[str, Any]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            issues.append(("data_type", f"messages[{i}] is {type(m).__name__}, not an object"))
            continue
        good.append(m)
        role = m.get("role")
        if "role" not in m or ("content" not in m and not m.get("tool_calls") and "function_call" not in m):
            issues.append(("message_missing_key", f"messages[{i}] needs 'role' and 'content'"))
        for k in m:
            if k not in OPENAI_MESSAGE_KEYS:
                issues.append(("message_unrecognized_key", f"messages[{i}] has unknown key '{k}'"))
        if "role" in m and role not in OPENAI_ROLES:
            issues.append(("unrecognized_role",
                           f"messages[{i}] role {role!r} is not system, user, assistant or tool"))
        content = m.get("content")
        calls = m.get("tool_calls") or m.get("function_call")
        if "content" in m and not (content is None and calls) and not isinstance(content, str):
            issues.append(("missing_content", f"messages[{i}] content is {type(content).__name__}, not a string"))
        elif isinstance(content, str) and not content.strip() and not calls:
            issues.append(("missing_content", f"messages[{i}] content is empty"))
        if "weight" in m:
            if role != "assistant":
                issues.append(("invalid_weight", f"messages[{i}] has a weight but only assistant messages may"))
            elif isinstance(m["weight"], bool) or m["weight"] not in (0, 1):
                issues.append(("invalid_weight", f"messages[{i}] weight is {m['weight']!r}, must be 0 or 1"))
    if not any(m.get("role") == "assistant" for m in good):
        issues.append(("example_missing_assistant_message", "no assistant message"))
    return issues, good


def _check_turn_order(speakers: list[str], user: str, assistant: str) -> list[Issue]:
    body = speakers[1:] if speakers and speakers[0] == "system" else speakers
    if "system" in body:
        return [("turns_not_alternating", "a system turn may only come first")]
    expected = [user, assistant] * (len(body) // 2 + 1)
    if body != expected[: len(body)]:
        return [("turns_not_alternating", f"turns must alternate {user}/{assistant} from {user}: got "
                                          + ",".join(body))]
    if body and body[-1] != assistant:
        return [("turns_not_alternating", f"the last turn must be {assistant}, got {body[-1]}")]
    return []


def check_sharegpt(obj: dict[str, Any]) -> tuple[list[Issue], list[dict[str, Any]]]:
    issues: list[Issue] = [("unknown_key", f"unknown top-level key '{k}'") for k in obj if k not in SHAREGPT_TOP_KEYS]
    turns = obj.get("conversations")
    if not isinstance(turns, list) or not turns:
        return issues + [("missing_conversations", "'conversations' must be a non-empty list")], []
    speakers: list[str] = []
    messages: list[dict[str, Any]] = []
    for i, t in enumerate(turns):
        if not isinstance(t, dict) or "from" not in t or "value" not in t:
            issues.append(("turn_missing_key", f"conversations[{i}] needs 'from' and 'value'"))
            continue
        issues += [("turn_unrecognized_key", f"conversations[{i}] has unknown key '{k}'")
                   for k in t if k not in ("from", "value")]
        if t["from"] not in SHAREGPT_SPEAKERS:
            issues.append(("unrecognized_speaker",
                           f"conversations[{i}] from {t['from']!r} is not human, gpt or system"))
        if not _nonempty_str(t["value"]):
            issues.append(("empty_value", f"conversations[{i}] value must be a non-empty string"))
        speakers.append(str(t["from"]))
        messages.append({"role": str(t["from"]), "content": t["value"]})
    if "gpt" not in speakers:
        issues.append(("missing_assistant_turn", "no gpt turn"))
    if len(speakers) == len(turns):  # order is only meaningful when every turn could be read
        issues += _check_turn_order(speakers, "human", "gpt")
    return issues, messages


def check_alpaca(obj: dict[str, Any]) -> tuple[list[Issue], list[dict[str, Any]]]:
    issues: list[Issue] = [("unknown_key", f"unknown key '{k}'") for k in obj if k not in ALPACA_KEYS]
    for k in ALPACA_REQUIRED:
        if k not in obj:
            issues.append(("missing_key", f"missing required key '{k}'"))
        elif not isinstance(obj[k], str):
            issues.append(("not_a_string", f"'{k}' is {type(obj[k]).__name__}, not a string"))
        elif k != "input" and not obj[k].strip():
            issues.append(("empty_value", f"'{k}' is empty"))
    if "system" in obj and not isinstance(obj["system"], str):
        issues.append(("not_a_string", "'system' must be a string"))
    history = obj.get("history", [])
    if not isinstance(history, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(_nonempty_str(x) for x in p) for p in history):
        issues.append(("bad_history", "'history' must be a list of [user, assistant] pairs of non-empty strings"))
        history = []

    def text(key: str) -> str:
        return obj[key] if isinstance(obj.get(key), str) else ""

    messages = [{"role": "system", "content": text("system")}] if text("system") else []
    for user, assistant in history:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    messages += [{"role": "user", "content": user_text(text("instruction"), text("input"))},
                 {"role": "assistant", "content": text("output")}]
    return issues, messages


def check_text(obj: dict[str, Any]) -> tuple[list[Issue], list[dict[str, Any]]]:
    issues: list[Issue] = [("unknown_key", f"unknown key '{k}'") for k in obj if k != "text"]
    if not _nonempty_str(obj.get("text")):
        issues.append(("empty_value", "'text' must be a non-empty string"))
        return issues, []
    return issues, [{"role": "user", "content": obj["text"]}]


CHECKS = {"openai": check_openai, "sharegpt": check_sharegpt, "alpaca": check_alpaca, "text": check_text}


def _objects(path: Path) -> Iterator[tuple[int, Any, Problem | None]]:
    """(line, parsed object, problem) per example: JSONL line by line, or the elements of a JSON array."""
    raw = path.read_bytes()
    if raw.lstrip()[:1] == b"[":
        yield from _array_objects(raw)
        return
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline ends the last line; it does not start a blank one
    for lineno, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield lineno, None, Problem(lineno, "not_utf8", f"not valid UTF-8 (byte {exc.start})")
            continue
        if not text.strip():
            yield lineno, None, Problem(lineno, "blank_line", "blank line: remove it")
            continue
        try:
            yield lineno, json.loads(text), None
        except json.JSONDecodeError as exc:
            yield lineno, None, Problem(lineno, "bad_json", f"malformed JSON: {exc.msg} at column {exc.colno}")


def _array_objects(raw: bytes) -> Iterator[tuple[int, Any, Problem | None]]:
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        yield raw[: exc.start].count(b"\n") + 1, None, Problem(raw[: exc.start].count(b"\n") + 1, "not_utf8",
                                                               "not valid UTF-8")
        return
    except json.JSONDecodeError as exc:
        yield exc.lineno, None, Problem(exc.lineno, "bad_json", f"malformed JSON: {exc.msg} at column {exc.colno}")
        return
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    for item in data:
        while text[pos] in " \t\r\n,":
            pos += 1
        line = text.count("\n", 0, pos) + 1
        pos = decoder.raw_decode(text, pos)[1]
        yield line, item, None


def validate_file(path: str | Path, fmt: str = "auto", max_tokens: int = DEFAULT_MAX_TOKENS,
                  counter: TokenCounter | None = None) -> ValidationReport:
    """Every problem of every line; the format is detected from the first object unless given."""
    path = Path(path)
    counter = counter or TokenCounter()
    report = ValidationReport(path=str(path), format=fmt, max_tokens=max_tokens, token_method=counter.method)
    for lineno, obj, problem in _objects(path):
        report.examples += 1
        if problem is not None:
            report.problems.append(problem)
            continue
        if not isinstance(obj, dict):
            report.problems.append(Problem(lineno, "data_type", f"expected a JSON object, got {type(obj).__name__}"))
            continue
        if report.format == "auto":
            detected = detect_format(obj)
            if detected is None:
                report.problems.append(Problem(lineno, "unknown_format", "no 'messages', 'conversations', "
                                                                         "'instruction' or 'text' key"))
                continue
            report.format = detected
        issues, messages = CHECKS[report.format](obj)
        report.problems += [Problem(lineno, code, msg) for code, msg in issues]
        if messages:
            n = counter.count(messages) if report.format != "text" else counter.count_text(messages[0]["content"])
            report.tokens.append(n)
            if n > max_tokens:
                report.problems.append(Problem(lineno, "too_many_tokens", f"about {n} tokens, over the limit of "
                                                                          f"{max_tokens}"))
    if report.examples == 0:
        report.problems.append(Problem(0, "empty_file", "no examples in the file"))
    return report
