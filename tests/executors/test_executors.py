"""Both executors keep input order, return one result per item, and concatenate array results."""

from __future__ import annotations

import sys
from functools import partial

import numpy as np
import pytest

from pipeline.commands.run import add_parser, executor_overrides
from pipeline.config import load_config
from pipeline.executors import LocalExecutor, make_executor
from pipeline.runner import Runner
from pipeline.stages.base import StageContext
from pipeline.stages.dedup import DedupStage


def _tag(prefix: str, items: list[str]) -> list[str]:
    return [f"{prefix}{x}" for x in items]


def _squares(items: list[int]) -> np.ndarray:
    return np.array([[x, x * x] for x in items], dtype=np.int64)


def _drop_one(items: list[int]) -> list[int]:
    return items[1:]


@pytest.mark.parametrize("workers", [1, 2])
def test_local_executor_keeps_order_and_concatenates_arrays(workers: int) -> None:
    ex = LocalExecutor(min_parallel=1)
    items = [str(i) for i in range(500)]
    assert ex.map_batches(partial(_tag, "x"), items, batch_size=37, workers=workers) == ["x" + i for i in items]
    out = ex.map_batches(_squares, list(range(300)), batch_size=50, workers=workers)
    assert out.shape == (300, 2) and out[17].tolist() == [17, 289]
    assert ex.map_batches(_squares, [], workers=workers) == []


def test_a_batch_function_must_answer_every_item() -> None:
    with pytest.raises(RuntimeError, match="one result per item"):
        LocalExecutor().map_batches(_drop_one, [1, 2, 3], workers=1)


def test_ray_executor_keeps_order_for_text_objects_and_arrays(ray_executor) -> None:
    import ray.cloudpickle

    # Ray workers cannot import a test module by name: ship its functions by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    items = [str(i) for i in range(300)]
    assert ray_executor.map_batches(partial(_tag, "r"), items) == ["r" + i for i in items]
    out = ray_executor.map_batches(_squares, list(range(300)))
    assert isinstance(out, np.ndarray) and out[:, 0].tolist() == list(range(300))


def test_executor_is_config_and_cli_and_not_in_the_fingerprint(tmp_path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["run", "--ray-address", "auto"])
    assert args.executor is None and args.ray_address == "auto"
    assert executor_overrides(None, "auto") == ["ray_address=auto", "executor=ray"]
    assert executor_overrides("local", None) == ["executor=local"]
    local = load_config(None, [f"output_dir={tmp_path}"])
    ray = load_config(None, [f"output_dir={tmp_path}", "executor=ray", "ray_address=ray://head:10001"])
    assert (local.executor, ray.executor, ray.ray_address) == ("local", "ray", "ray://head:10001")
    assert make_executor("local").name == "local" and make_executor("ray", "auto").name == "ray"
    stage = DedupStage(local.dedup, StageContext())
    assert Runner(local)._fingerprint(stage, "up") == Runner(ray)._fingerprint(stage, "up")
