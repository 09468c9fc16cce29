"""The executor interface: map a per-batch function over items, in order, wherever the batches run."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# A batch function takes a list of items and returns exactly one result per item, in the same order (a
# list, or a numpy array with one row per item: then the executor returns one concatenated array). It
# must be picklable (a module-level function or a functools.partial of one): it may run in another
# process or on another machine. Its results may depend only on the item, never on its batch neighbours,
# so that every way of cutting the input into batches gives the same answer.
BatchFn = Callable[[list[Any]], list[Any]]


class Executor(ABC):
    name: str = "executor"

    @abstractmethod
    def map_batches(self, fn: BatchFn, items: Sequence[Any], *, batch_size: int | None = None,
                    workers: int | None = None) -> list[Any]:
        """fn over `items` cut into batches; one result per item, in input order. `workers` caps the
        local executor's processes (a stage's own num_proc / workers setting; 1 keeps the work in this
        process); Ray ignores it and uses the whole cluster."""

    def close(self) -> None:
        """Release what the executor started (process pools, a local Ray instance)."""


def check_batch_result(items: Sequence[Any], results: Any) -> Any:
    if len(results) != len(items):
        raise RuntimeError(f"a batch function returned {len(results)} results for {len(items)} items: "
                           "it must return exactly one result per item")
    return results if isinstance(results, np.ndarray) else list(results)


def join_parts(parts: list[Any]) -> Any:
    """Per-batch results, in batch order, as one list (or one array when the batches returned arrays)."""
    if parts and isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return [r for part in parts for r in part]
