"""Shared fixtures: our deterministic OpenAI-compatible server on loopback, configs pointing at it,
and every cache (HF, transformers, pipeline) pointed at a temp folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config import PipelineConfig, load_config
from pipeline.testing.fake_server import FakeOpenAIServer

# No test may reach the network or a shared cache.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["INSTRUCT_PIPELINE_PROGRESS"] = "0"


@pytest.fixture(autouse=True, scope="session")
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("caches")
    os.environ["HF_HOME"] = str(root / "hf")
    os.environ["HF_DATASETS_CACHE"] = str(root / "hf" / "datasets")
    os.environ["XDG_CACHE_HOME"] = str(root / "xdg")


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def make_config(tmp_path: Path):
    """Build a PipelineConfig whose run directory is under tmp_path; pass a server to use it."""

    def _make(server: FakeOpenAIServer | None = None, *overrides: str, **fields: object) -> PipelineConfig:
        items = [f"output_dir={tmp_path / 'output'}", "generator.model=test-model",
                 "generator.backoff_base_s=0.01", "generator.timeout_s=5"]
        if server is not None:
            items.append(f"generator.base_url={server.base_url}")
        items.extend(overrides)
        items.extend(f"{k}={v}" for k, v in fields.items())
        return load_config(None, items)

    return _make
