"""The local executor: small inputs in this process, large ones in chunks over a forked process pool."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from pipeline.executors.base import BatchFn, Executor, check_batch_result, join_parts


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _apply(job: tuple[BatchFn, list[Any]]) -> list[Any]:
    fn, batch = job
    return check_batch_result(batch, fn(batch))


class LocalExecutor(Executor):
    """`workers` processes (None: every core); inputs under `min_parallel` items stay in this process,
    where starting a pool would cost more than it saves."""

    name = "local"

    def __init__(self, workers: int | None = None, min_parallel: int = 200):
        self.workers = workers
        self.min_parallel = min_parallel

    def map_batches(self, fn: BatchFn, items: Sequence[Any], *, batch_size: int | None = None,
                    workers: int | None = None) -> list[Any]:
        items = list(items)
        procs = max(1, min(workers or self.workers or available_cores(), len(items)))
        if procs == 1 or len(items) < self.min_parallel:
            return check_batch_result(items, fn(items)) if items else []
        # About 8 chunks per process evens out chunks that happen to be slower than others.
        size = batch_size or max(16, -(-len(items) // (procs * 8)))
        jobs = [(fn, items[i:i + size]) for i in range(0, len(items), size)]
        # fork starts workers in milliseconds and shares what the parent already loaded; spawn elsewhere.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(procs, mp_context=context) as pool:
            return join_parts(list(pool.map(_apply, jobs)))
