"""Parsers for Self-Instruct replies: the continued task list, the Yes/No answer, instances, Alpaca blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.self_instruct.tasks import Instance

# "Task 10: ...", "10. ...", "10) ...", "**Task 10:** ...", "- 10. ..."; the number must be followed by
# punctuation so that a line such as "3 cups of flour" is not taken for an item.
_LIST_ITEM = re.compile(
    r"^\s*(?:[-*#>]+\s*)?(?:\*\*|__)?\s*(?:(?:task|instruction)\s*)?(\d{1,3})\s*[:.)\]]\s*(?:\*\*|__)?\s*(.*)$",
    re.IGNORECASE,
)
_EXAMPLE_HEADER = re.compile(r"^\s*[#*_]*\s*example\s*(\d+)\s*[:.)]?\s*[#*_]*\s*$", re.IGNORECASE)
_FIELD = re.compile(r"^\s*[*_]*\s*(input|output|class label|label)\s*[*_]*\s*:\s*[*_]*\s?(.*)$", re.IGNORECASE)
_NEW_TASK = re.compile(r"^\s*[*_]*\s*task\s*[*_]*\s*:", re.IGNORECASE)
_ALPACA_SEPARATOR = re.compile(r"^\s*###\s*$", re.MULTILINE)
_ALPACA_FIELD = re.compile(r"^\s*\d+\s*\.\s*(Instruction|Input|Output)\s*:", re.MULTILINE | re.IGNORECASE)
_NO_INPUT = {"<noinput>", "<no input>", "(none)", "none", "n/a", "no input", "<none>"}


def clean_instruction(text: str) -> str:
    """Collapse whitespace and drop markdown emphasis around the text (Self-Instruct collapses whitespace
    too; we do not copy its `.capitalize()`, which lowercases proper nouns)."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"^(\*\*|__)(.*)(\*\*|__)$", r"\2", text).strip()


def clean_input(text: str) -> str:
    text = text.strip()
    return "" if text.lower() in _NO_INPUT else text


@dataclass
class ParsedList:
    """Instructions continued from the numbered list, in order, and the lines that were not items."""

    items: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    beyond_limit: int = 0


def parse_instruction_list(reply: str, first_number: int, max_items: int) -> ParsedList:
    """Items of a list continuation. The prompt ends with the marker of item `first_number`, so text before
    the first numbered line is that item, unless the model repeated the marker itself or the text is a
    preamble ending with ":". A line after a blank line that starts no item ends the list (stray text)."""
    out = ParsedList()
    raw_items: list[tuple[int | None, list[str]]] = []
    leading: list[str] = []
    current: list[str] | None = None
    after_blank = closed = False
    for line in reply.splitlines():
        match = _LIST_ITEM.match(line)
        if match:
            current = [match.group(2)]
            raw_items.append((int(match.group(1)), current))
            after_blank = closed = False
        elif not line.strip():
            after_blank = current is not None or bool(leading)
        elif closed or (after_blank and (current is not None or leading)):
            out.stray.append(line.strip())
            closed = True
        elif current is None:
            leading.append(line)
        else:
            current.append(line)
    lead = clean_instruction(" ".join(leading))
    if lead:
        first_numbered = raw_items[0][0] if raw_items else None
        if first_numbered == first_number or lead.endswith(":"):
            out.stray.insert(0, lead)
        else:
            raw_items.insert(0, (first_number, [lead]))
    last_allowed = first_number + max_items - 1
    for number, lines in raw_items:
        text = clean_instruction(" ".join(lines))
        if not text:
            continue
        if len(out.items) >= max_items or (number is not None and number > last_allowed):
            out.beyond_limit += 1
            continue
        out.items.append(text)
    return out


def parse_yes_no(reply: str) -> bool | None:
    """The classification answer: True for yes, False for no, None when the reply says neither."""
    words = re.findall(r"[a-z]+", reply.lower())
    if not words:
        return None
    return {"yes": True, "no": False}.get(words[0])


@dataclass
class ParsedInstances:
    """Instances in reply order; `malformed` holds blocks that had no output (or no label)."""

    instances: list[Instance] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    # Index in reply order of every block, True for a parsed instance, False for a malformed one.
    order: list[bool] = field(default_factory=list)


def _split_examples(reply: str) -> list[str]:
    """Blocks between "Example N" headers; the text before the first header is the first example, since
    the prompt ends with "Example 1". A "Task:" line means the model started another task: stop there."""
    blocks: list[list[str]] = [[]]
    for line in reply.splitlines():
        if _NEW_TASK.match(line):
            if any(x.strip() for b in blocks for x in b):
                break
            continue  # a chat model that repeats the task line first
        if _EXAMPLE_HEADER.match(line):
            blocks.append([])
        else:
            blocks[-1].append(line)
    return ["\n".join(b).strip() for b in blocks if "\n".join(b).strip()]


def _fields(block: str) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in block.splitlines():
        match = _FIELD.match(line)
        if match:
            name = match.group(1).lower()
            name = "label" if name == "class label" else name
            current = found.setdefault(name, [])
            current.append(match.group(2))
        elif current is not None:
            current.append(line)
    return {k: "\n".join(v).strip() for k, v in found.items()}


def parse_instances(reply: str, output_first: bool) -> ParsedInstances:
    """Input-first blocks carry "Input:" and "Output:"; output-first blocks carry "Class label:" (the
    instance's output) and "Input:". A missing input means the task needs none."""
    out = ParsedInstances()
    for block in _split_examples(reply):
        fields = _fields(block)
        output = fields.get("label") if output_first else fields.get("output")
        if output_first and output is None:
            output = fields.get("output")  # a label written as "Output:" is still the label
        if output is None:
            out.malformed.append(block)
            out.order.append(False)
            continue
        out.instances.append(Instance(clean_input(fields.get("input", "")), output.strip()))
        out.order.append(True)
    return out


@dataclass
class ParsedTask:
    instruction: str
    input: str
    output: str


@dataclass
class ParsedAlpaca:
    """Whole tasks from an Alpaca reply; `blocks` keeps every block in order, a task or the raw text."""

    blocks: list[ParsedTask | str] = field(default_factory=list)


def parse_alpaca_tasks(reply: str, first_number: int) -> ParsedAlpaca:
    """Blocks separated by "###", each "N. Instruction: / N. Input: / N. Output:"; a block that does not
    parse whole is kept as raw text (Alpaca drops it). The prompt ends with "N. Instruction:"."""
    text = reply if _ALPACA_FIELD.match(reply.lstrip()) else f"{first_number}. Instruction:{reply}"
    out = ParsedAlpaca()
    for block in _ALPACA_SEPARATOR.split(text):
        if not block.strip():
            continue
        parts = _ALPACA_FIELD.split(block)
        labels = [p.lower() for p in parts[1::2]]
        if labels != ["instruction", "input", "output"] or parts[0].strip():
            out.blocks.append(block.strip())
            continue
        instruction = clean_instruction(parts[2])
        out.blocks.append(ParsedTask(instruction, clean_input(parts[4]), parts[6].strip()))
    return out
