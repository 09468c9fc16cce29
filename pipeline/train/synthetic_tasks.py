"""Verifiable synthetic instructions (reverse, sort, upper-case, add) and exact-match scoring of a model on them."""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Several phrasings per task, so the model has to read the instruction rather than one fixed pattern.
PHRASINGS = {
    "reverse": ["Reverse the word {x}.", "Write {x} backwards.", "Spell {x} in reverse."],
    "sort": ["Sort these numbers: {x}", "Put {x} in ascending order.", "Order from small to large: {x}"],
    "upper": ["Upper-case {x}.", "Write {x} in capitals.", "Convert {x} to upper case."],
    "add": ["What is {a} plus {b}?", "Add {a} and {b}.", "Sum {a} and {b}."],
}
TASKS = tuple(PHRASINGS)
_LETTERS = string.ascii_lowercase


@dataclass(frozen=True)
class Item:
    task: str
    prompt: str
    answer: str

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.prompt}, {"role": "assistant", "content": self.answer}]


def make_item(task: str, rng: random.Random) -> Item:
    phrasing = rng.choice(PHRASINGS[task])
    if task == "reverse":
        word = "".join(rng.choice(_LETTERS) for _ in range(rng.randint(3, 5)))
        return Item(task, phrasing.format(x=word), word[::-1])
    if task == "upper":
        word = "".join(rng.choice(_LETTERS) for _ in range(rng.randint(3, 5)))
        return Item(task, phrasing.format(x=word), word.upper())
    if task == "sort":
        nums = rng.sample(range(10), rng.randint(3, 4))
        return Item(task, phrasing.format(x=" ".join(map(str, nums))), " ".join(map(str, sorted(nums))))
    a, b = rng.randint(0, 9), rng.randint(0, 9)
    return Item(task, phrasing.format(a=a, b=b), str(a + b))


def make_split(n_train: int, n_test: int, seed: int = 0) -> tuple[list[Item], list[Item]]:
    """Held-out and train items, tasks in equal shares; no held-out prompt occurs in the training set.

    The held-out set is drawn first and training items that repeat one of its prompts are redrawn, so
    sums (only 300 distinct prompts) are held out as (phrasing, a, b) combinations.
    """
    rng = random.Random(seed)
    test: list[Item] = []
    held: set[str] = set()
    while len(test) < n_test:
        it = make_item(TASKS[len(test) % len(TASKS)], rng)
        if it.prompt not in held:
            held.add(it.prompt)
            test.append(it)
    train: list[Item] = []
    while len(train) < n_train:
        it = make_item(TASKS[len(train) % len(TASKS)], rng)
        if it.prompt not in held:
            train.append(it)
    return train, test


def write_messages_jsonl(items: list[Item], path: str | Path) -> Path:
    """OpenAI chat fine-tuning JSONL, as our format stage writes it (one `messages` object per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"messages": it.messages()}, ensure_ascii=False) + "\n" for it in items)
    return path


def greedy_answers(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int = 16,
                   batch_size: int = 64) -> list[tuple[str, bool]]:
    """Greedy replies to single-turn prompts: (text up to end-of-turn, whether end-of-turn was produced)."""
    import torch

    eot = tokenizer.eos_token_id
    out: list[tuple[str, bool]] = []
    model.eval()
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        encoded = [list(tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=True,
                                                      add_generation_prompt=True, return_dict=True)["input_ids"])
                   for p in chunk]
        width = max(map(len, encoded))
        # Left padding so every prompt ends where generation starts.
        ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(e)) + e for e in encoded])
        mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])
        with torch.no_grad():
            gen = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                                 do_sample=False, eos_token_id=eot, pad_token_id=tokenizer.pad_token_id)
        for row in gen[:, width:].tolist():
            stopped = eot in row
            row = row[:row.index(eot)] if stopped else row
            out.append((tokenizer.decode(row, skip_special_tokens=True).strip(), stopped))
    return out


def score(model: Any, tokenizer: Any, items: list[Item]) -> dict[str, Any]:
    """Exact-match accuracy (overall and per task) and the share of replies that end at end-of-turn."""
    replies = greedy_answers(model, tokenizer, [it.prompt for it in items])
    per_task: dict[str, list[bool]] = {}
    for it, (text, _) in zip(items, replies):
        per_task.setdefault(it.task, []).append(text == it.answer)
    hits = [h for v in per_task.values() for h in v]
    return {"exact_match": sum(hits) / len(hits), "stop_rate": sum(s for _, s in replies) / len(replies),
            "per_task": {k: sum(v) / len(v) for k, v in per_task.items()},
            "examples": [(it.prompt, it.answer, text) for it, (text, _) in list(zip(items, replies))[:8]]}
