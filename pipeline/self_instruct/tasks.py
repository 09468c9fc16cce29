"""Tasks (an instruction with its instances) grouped from records, and the choice of fixed demonstrations."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pipeline.records import Record


@dataclass(frozen=True)
class Instance:
    input: str
    output: str


@dataclass
class Task:
    task_id: str
    instruction: str
    instances: list[Instance] = field(default_factory=list)
    is_classification: bool = False
    is_seed: bool = True


def new_task_id(instruction: str) -> str:
    """Generated tasks are named by their instruction, so the same text always gets the same id."""
    return "si-" + hashlib.sha256(instruction.encode("utf-8")).hexdigest()[:12]


def tasks_from_records(records: list[Record]) -> list[Task]:
    """Group instance records into tasks by meta["task_id"] (a record without one is its own task),
    in order of first appearance."""
    tasks: dict[str, Task] = {}
    for rec in records:
        if not rec.instruction.strip():
            continue
        tid = str(rec.meta.get("task_id") or rec.id)
        task = tasks.get(tid)
        if task is None:
            task = tasks[tid] = Task(tid, rec.instruction, is_classification=bool(rec.meta.get("is_classification")))
        if rec.output:
            task.instances.append(Instance(rec.input, rec.output))
    return list(tasks.values())


def _stable_order(tasks: list[Task]) -> list[Task]:
    """An order fixed by the task ids alone: the same seeds give the same demonstrations on every run."""
    return sorted(tasks, key=lambda t: hashlib.sha256(t.task_id.encode()).hexdigest())


def classification_examples(seeds: list[Task], positives: int, negatives: int) -> list[Task]:
    """Labelled examples for the classification prompt, mixed in a stable order (Self-Instruct used 12 / 19)."""
    ordered = _stable_order(seeds)
    chosen = [t for t in ordered if t.is_classification][:positives]
    chosen += [t for t in ordered if not t.is_classification][:negatives]
    return _stable_order(chosen)


def instance_demos(seeds: list[Task], classification: bool, count: int) -> list[Task]:
    """Seed tasks shown as worked examples in the instance prompts: the right kind, most instances first."""
    pool = [t for t in _stable_order(seeds) if t.is_classification == classification and t.instances]
    pool.sort(key=lambda t: -len(t.instances))
    return pool[:count]
