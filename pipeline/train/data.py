"""SFT data: reads our exports as conversations and renders them to token ids with assistant-only labels."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import InputDataError

IGNORE = -100  # the label value cross-entropy skips
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "system": "system"}


def row_to_messages(row: dict[str, Any]) -> list[dict[str, Any]]:
    """One exported row (OpenAI `messages`, ShareGPT `conversations` or Alpaca fields) as chat messages."""
    if "messages" in row:
        return [dict(m) for m in row["messages"]]
    if "conversations" in row:
        out = []
        for turn in row["conversations"]:
            role = _SHAREGPT_ROLES.get(turn.get("from"))
            if role is None:
                raise ValueError(f"unknown ShareGPT speaker {turn.get('from')!r}")
            out.append({"role": role, "content": turn["value"]})
        return out
    if "instruction" in row:
        user = row["instruction"] + (f"\n\n{row['input']}" if row.get("input") else "")
        return [{"role": "user", "content": user}, {"role": "assistant", "content": row.get("output") or ""}]
    raise ValueError("a row needs 'messages', 'conversations' or 'instruction'")


def load_conversations(source: str | Path, split: str = "train") -> list[list[dict[str, Any]]]:
    """Every conversation in a JSONL/JSON export or a saved `datasets` directory."""
    path = Path(source)
    if not path.exists():
        raise InputDataError("training data not found: pass the JSONL written by the format stage", path=path)
    if path.is_dir():
        import datasets

        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[split]
        rows = [(n + 1, dict(r)) for n, r in enumerate(ds)]
    else:
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("["):
            rows = list(enumerate(json.loads(text), start=1))
        else:
            rows = [(n, json.loads(line)) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    conversations = []
    for line, row in rows:
        try:
            conversations.append(row_to_messages(row))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputDataError(f"not a chat/ShareGPT/Alpaca row: {exc}", path=path, line=line) from None
    if not conversations:
        raise InputDataError("no rows: the file is empty", path=path)
    return conversations


def _ids(encoded: Any) -> list[int]:
    # transformers 5 returns a BatchEncoding from apply_chat_template(tokenize=True); older ones a list.
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


def _has_generation_blocks(tokenizer: Any) -> bool:
    return bool(_GENERATION_TAG.search(tokenizer.chat_template or ""))


def render_conversation(tokenizer: Any, messages: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """(ids, labels): labels equal ids on assistant tokens (end-of-turn included), -100 elsewhere.

    Uses the template's {% generation %} blocks when it has them; otherwise renders growing prefixes and
    supervises what each assistant message adds. An assistant message with `weight: 0` is not supervised.
    """
    clean = [{"role": m["role"], "content": m["content"]} for m in messages]
    weights = [m.get("weight", 1) for m in messages if m["role"] == "assistant"]
    if _has_generation_blocks(tokenizer):
        out = tokenizer.apply_chat_template(clean, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
        ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
    else:
        ids, mask = _mask_by_prefixes(tokenizer, clean)
    if any(w == 0 for w in weights):
        mask = _drop_turns(mask, [w == 0 for w in weights])
    return ids, [t if m else IGNORE for t, m in zip(ids, mask)]


def _mask_by_prefixes(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    ids = _ids(tokenizer.apply_chat_template(messages, tokenize=True))
    mask = [0] * len(ids)
    for i, msg in enumerate(messages):
        if msg["role"] != "assistant":
            continue
        start = len(_ids(tokenizer.apply_chat_template(messages[:i], tokenize=True, add_generation_prompt=True)))
        end = len(_ids(tokenizer.apply_chat_template(messages[:i + 1], tokenize=True)))
        # Trailing template text after end-of-turn (ChatML's newline) stays unsupervised: the model stops
        # at end-of-turn and never has to predict it.
        while end > start and ids[end - 1] != tokenizer.eos_token_id and \
                tokenizer.convert_ids_to_tokens(ids[end - 1]).strip("Ċ\n ") == "":
            end -= 1
        mask[start:end] = [1] * (end - start)
    return ids, mask


def _drop_turns(mask: list[int], drop: list[bool]) -> list[int]:
    """Zero the k-th contiguous run of ones where drop[k] is true (runs are assistant turns, in order)."""
    out, turn, prev = list(mask), -1, 0
    for i, m in enumerate(mask):
        if m and not prev:
            turn += 1
        if m and turn < len(drop) and drop[turn]:
            out[i] = 0
        prev = m
    return out


@dataclass
class Sample:
    """One tokenised conversation: inputs and next-token targets (already shifted, -100 = no loss)."""

    ids: list[int]
    targets: list[int]

    @property
    def n_supervised(self) -> int:
        return sum(t != IGNORE for t in self.targets)


@dataclass
class TokenizedData:
    samples: list[Sample]
    n_conversations: int = 0
    n_truncated: int = 0
    # Conversations left with no trainable token (empty answers, or cut off by max_length): dropped, counted.
    n_zero_supervised: int = 0
    dropped_examples: list[int] = field(default_factory=list)


def tokenize_conversations(tokenizer: Any, conversations: list[list[dict[str, Any]]],
                           max_length: int) -> TokenizedData:
    """Render, shift and truncate every conversation; drop (and count) those with nothing to learn."""
    data = TokenizedData(samples=[], n_conversations=len(conversations))
    for n, messages in enumerate(conversations):
        ids, labels = render_conversation(tokenizer, messages)
        # Shift once here so packing can concatenate samples without a target crossing a boundary.
        targets = labels[1:] + [IGNORE]
        if len(ids) > max_length:
            data.n_truncated += 1
            ids, targets = ids[:max_length], targets[:max_length]
        sample = Sample(ids, targets)
        if sample.n_supervised == 0:
            data.n_zero_supervised += 1
            data.dropped_examples.append(n)
            continue
        data.samples.append(sample)
    return data
