"""The growing task pool: seeds plus accepted instructions, in-context sampling, and the novelty check."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipeline.self_instruct.tasks import Task
from pipeline.text.novelty import Nearest, NoveltyIndex
from pipeline.text.rouge import rouge_tokens


@dataclass(frozen=True)
class Novelty:
    """A candidate's highest ROUGE-L to the pool and to the seeds, and the nearest pool task."""

    rouge_l_pool: float
    rouge_l_seed: float
    nearest_id: str
    tokens: tuple[str, ...]


class TaskPool:
    """Seeds and accepted machine tasks; every instruction is indexed for the ROUGE-L novelty check."""

    def __init__(self, seeds: list[Task]):
        self.seeds = list(seeds)
        self.machine: list[Task] = []
        self._index = NoveltyIndex()
        self._seed_index = NoveltyIndex()
        for task in self.seeds:
            tokens = rouge_tokens(task.instruction)
            self._index.add(task.task_id, tokens=tokens)
            self._seed_index.add(task.task_id, tokens=tokens)

    def __len__(self) -> int:
        return len(self._index)

    @property
    def exact_scores(self) -> int:
        return self._index.stats.exact_scores

    def sample_prompt_tasks(self, rng: random.Random, total: int, machine: int) -> list[Task]:
        """Self-Instruct's sampling: up to `machine` generated tasks, seeds for the rest, then shuffled."""
        chosen = rng.sample(self.machine, min(machine, len(self.machine)))
        chosen += rng.sample(self.seeds, min(total - len(chosen), len(self.seeds)))
        rng.shuffle(chosen)
        return chosen

    def sample_seed_tasks(self, rng: random.Random, total: int) -> list[Task]:
        """Alpaca's sampling: in-context examples from the seeds only."""
        return rng.sample(self.seeds, min(total, len(self.seeds)))

    def novelty(self, instruction: str) -> Novelty:
        tokens = rouge_tokens(instruction)
        pool = self._index.nearest(tokens)
        seed = self._seed_index.nearest(tokens)
        return Novelty(_score(pool), _score(seed), pool.key if pool else "", tuple(tokens))

    def add(self, task: Task, novelty: Novelty) -> None:
        """Accepted tasks join the pool at once, so later candidates are compared with them too."""
        self.machine.append(task)
        self._index.add(task.task_id, tokens=novelty.tokens)


def _score(found: Nearest | None) -> float:
    return found.score if found is not None else 0.0
