"""Our own seed tasks: enough of them, across enough categories, well-formed and without near-duplicates."""

from __future__ import annotations

import itertools
import json
from collections import Counter

from rouge_score import rouge_scorer

from pipeline import SEEDS_DIR
from pipeline.readers import read_records

SEED_FILE = SEEDS_DIR / "seed_tasks.jsonl"


def _tasks() -> list[dict]:
    return [json.loads(line) for line in SEED_FILE.read_text().splitlines() if line.strip()]


def test_seed_file_reads_without_error_and_has_enough_tasks():
    records = read_records(SEED_FILE)
    tasks = _tasks()
    assert len(tasks) >= 120
    assert len(records) >= len(tasks)  # one record per instance
    assert all(t["instances"] and all(i["output"].strip() for i in t["instances"]) for t in tasks)
    assert len({t["id"] for t in tasks}) == len(tasks)


def test_categories_and_classification_share():
    tasks = _tasks()
    categories = Counter(t["category"] for t in tasks)
    assert len(categories) >= 12 and min(categories.values()) >= 6
    share = sum(t["is_classification"] for t in tasks) / len(tasks)
    assert 0.2 <= share <= 0.3


def test_no_two_seeds_are_near_duplicates():
    # Self-Instruct's own novelty rule is ROUGE-L > 0.7; our seeds keep far below it.
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    instructions = [t["instruction"] for t in _tasks()]
    worst = max(scorer.score(a, b)["rougeL"].fmeasure for a, b in itertools.combinations(instructions, 2))
    assert worst < 0.5
