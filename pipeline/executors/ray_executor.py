"""The Ray executor: the same batch functions as `map_batches` tasks of a Ray Data dataset, in order.

Items go in as a column (strings natively, anything else pickled per item), batches run as Ray tasks
on every CPU of the cluster (or of a local instance), and results come back sorted by input position,
so the answer never depends on which worker finished first.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.errors import PipelineError
from pipeline.executors.base import BatchFn, Executor, check_batch_result

DEFAULT_BATCH_SIZE = 1024


def _decode(batch: dict[str, np.ndarray]) -> list[Any]:
    if "text" in batch:
        return [str(t) for t in batch["text"]]
    return [pickle.loads(b) for b in batch["blob"]]


def _run_batch(batch: dict[str, np.ndarray], fn: BatchFn) -> dict[str, np.ndarray]:
    items = _decode(batch)
    results = check_batch_result(items, fn(items))
    if isinstance(results, np.ndarray):  # a tensor column: no per-row pickling
        return {"i": batch["i"], "array": results}
    out = np.empty(len(results), dtype=object)
    out[:] = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in results]
    return {"i": batch["i"], "result": out}


class RayExecutor(Executor):
    """`address`: None starts (or joins) a local instance with `num_cpus`; "auto" joins the cluster
    this machine belongs to (`ray start --head` ran here); "ray://host:10001" connects a Ray client."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE):
        self.address = address
        self.num_cpus = num_cpus
        self.batch_size = batch_size
        self._started = False

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError:
            raise PipelineError("executor 'ray' needs Ray: pip install 'instruct-pipeline[ray]'") from None
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address is None and self.num_cpus is not None:
                kwargs["num_cpus"] = self.num_cpus
            try:
                ray.init(address=self.address, **kwargs)
            except ConnectionError as exc:
                raise PipelineError(f"cannot reach the Ray cluster at {self.address} ({exc}): start it with "
                                    "`ray start --head` or fix --ray-address") from None
            self._started = True
        # The pipeline draws its own progress bars; Ray Data's per-dataset logs would bury them.
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        ray.data.DataContext.get_current().enable_progress_bars = False
        return ray

    def map_batches(self, fn: BatchFn, items: Sequence[Any], *, batch_size: int | None = None,
                    workers: int | None = None) -> list[Any]:
        items = list(items)
        if not items:
            return []
        ray = self._ray()
        import pandas as pd

        size = batch_size or self.batch_size
        is_text = all(isinstance(x, str) for x in items)
        frames = []
        for lo in range(0, len(items), size):
            chunk = items[lo:lo + size]
            column = chunk if is_text else [pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL) for x in chunk]
            frames.append(pd.DataFrame({"i": np.arange(lo, lo + len(chunk)), "text" if is_text else "blob": column}))
        # One block per batch, so Ray can spread the batches over all the cluster's CPUs.
        ds = ray.data.from_pandas(frames)
        ds = ds.map_batches(_run_batch, fn_kwargs={"fn": fn}, batch_size=size, batch_format="numpy",
                            zero_copy_batch=True)
        index: list[np.ndarray] = []
        parts: list[np.ndarray] = []
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            index.append(batch["i"])
            parts.append(batch["array"] if "array" in batch else batch["result"])
        # Sorted by input position: the answer never depends on which worker finished first.
        order = np.argsort(np.concatenate(index), kind="stable")
        flat = np.concatenate(parts)[order]
        if "array" in batch:
            return flat
        return [pickle.loads(b) for b in flat]

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
