"""Fixtures for trainer tests: one tiny model per template, built offline once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.train.tiny import build_tiny_model

CORPUS = ["You are terse.", "Name a colour.", "Blue is a colour.", "And a fruit?", "Apple, of course.",
          "Reverse the word cat.", "tac", "What is 2 plus 3?", "5"] * 10


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {name: build_tiny_model(CORPUS, root / name, vocab_size=320, chat_template=name)
            for name in ("chatml", "llama3")}


@pytest.fixture(scope="session")
def tiny_chatml(tiny_dirs):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_dirs["chatml"]).eval(), \
        AutoTokenizer.from_pretrained(tiny_dirs["chatml"])


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # On a shared 2-core machine, two OpenMP threads that get descheduled spin at barriers: one step ran
    # 40x slower than with one thread. One thread keeps these tests' timings stable.
    import torch

    torch.set_num_threads(1)
