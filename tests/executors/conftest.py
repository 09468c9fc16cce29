"""One local Ray instance (2 CPUs) for the whole test session: starting Ray costs 10-30 s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_executor() -> Iterator[object]:
    pytest.importorskip("ray.data")
    from pipeline.executors.ray_executor import RayExecutor

    # Small batches, so that even the tests' few hundred records are cut into many Ray tasks.
    executor = RayExecutor(num_cpus=2, batch_size=64)
    yield executor
    executor.close()
