"""Fixtures for the reliability tests: the local generating stages installed in the runner, and seeds."""

from __future__ import annotations

import pytest
from local_stages import install, write_seeds


@pytest.fixture
def local_pipeline(monkeypatch, tmp_path):
    """Seeds -> local self_instruct -> local evol_instruct; returns the seed file path."""
    install(monkeypatch=monkeypatch)
    return write_seeds(tmp_path)
