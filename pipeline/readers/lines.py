"""Line-numbered JSON reading with one clear error per bad line (file:line: problem)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import InputDataError

# One seed or eval row is a few KB; a line past this is a broken file, not data.
MAX_LINE_BYTES = 8 * 1024 * 1024


def iter_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line of a JSONL file."""
    with open(path, "rb") as fh:
        # readline with a limit: a 50 MB line is refused after reading 8 MiB of it, not all of it.
        for lineno, raw in enumerate(iter(lambda: fh.readline(MAX_LINE_BYTES + 1), b""), start=1):
            if len(raw) > MAX_LINE_BYTES:
                raise InputDataError(f"line is over the {MAX_LINE_BYTES // 2**20} MB limit for one row: "
                                     "is this really JSONL?", path=path, line=lineno)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputDataError(f"not valid UTF-8 (byte {exc.start}): re-save the file as UTF-8",
                                     path=path, line=lineno) from None
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputDataError(f"malformed JSON: {exc.msg} at column {exc.colno}", path=path,
                                     line=lineno) from None
            if not isinstance(obj, dict):
                raise InputDataError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=lineno)
            yield lineno, obj


def read_json_array(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """A JSON array file; each element is paired with the line its object starts on."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputDataError(f"not valid UTF-8 (byte {exc.start}): re-save the file as UTF-8", path=path,
                             line=line) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputDataError(f"malformed JSON: {exc.msg} at column {exc.colno}", path=path, line=exc.lineno) from None
    if not isinstance(data, list):
        raise InputDataError("expected a JSON array of objects", path=path, line=1)
    # Line numbers of element starts: decode incrementally to find where each object begins.
    decoder = json.JSONDecoder()
    out: list[tuple[int, dict[str, Any]]] = []
    pos = text.index("[") + 1
    for item in data:
        while text[pos] in " \t\r\n,":
            pos += 1
        line = text.count("\n", 0, pos) + 1
        _, end = decoder.raw_decode(text, pos)
        pos = end
        if not isinstance(item, dict):
            raise InputDataError(f"expected a JSON object, got {type(item).__name__}", path=path, line=line)
        out.append((line, item))
    return out
