"""Executors schedule a stage's per-batch work: in this process or a process pool (local), or on Ray Data."""

from __future__ import annotations

from pipeline.executors.base import BatchFn, Executor
from pipeline.executors.local import LocalExecutor

__all__ = ["BatchFn", "Executor", "LocalExecutor", "make_executor"]


def make_executor(kind: str, ray_address: str | None = None) -> Executor:
    """The executor named in the config (`executor: local|ray`); Ray is imported only when chosen."""
    if kind == "ray":
        from pipeline.executors.ray_executor import RayExecutor

        return RayExecutor(address=ray_address)
    return LocalExecutor()
