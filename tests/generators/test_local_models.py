"""A tiny model built offline, answering through the in-process backend and through `transformers serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.generators.base import GenerationRequest, SamplingParams
from pipeline.generators.factory import make_generator
from pipeline.train.tiny import build_tiny_model

TEXTS = [f"Add {a} and {b}. The answer is {a + b}." for a in range(12) for b in range(12)]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return build_tiny_model(TEXTS, tmp_path_factory.mktemp("tiny") / "model", vocab_size=300)


def _requests(n: int, params: SamplingParams) -> list[GenerationRequest]:
    return [GenerationRequest.chat([{"role": "user", "content": f"Add {i} and 2."}], params) for i in range(n)]


def test_in_process_backend_generates_batched_and_caches(tiny_dir, make_config, tmp_path):
    cfg = make_config(None, "generator.backend=transformers", f"generator.model_dir={tiny_dir}",
                      "generator.model=tiny", "generator.batch_size=4")
    gen = make_generator(cfg.generator, tmp_path)
    greedy = SamplingParams(temperature=0.0, max_tokens=8)
    out = gen.generate(_requests(6, greedy) + [GenerationRequest.completion("Add 1 and", greedy)])
    assert all(g.ok and g.completion_tokens > 0 and g.prompt_tokens > 0 for g in out)
    assert all(g.finish_reason in ("stop", "length") for g in out)
    assert all(g.completion_tokens <= 8 for g in out)
    # Greedy decoding is deterministic, batched or alone.
    alone = gen.backend._generate(_requests(1, greedy))[0]
    assert alone.text == out[0].text
    again = gen.generate(_requests(6, greedy))
    assert all(g.cached for g in again)
    gen.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_dir, tmp_path_factory):
    """`transformers serve` on the tiny model, offline, on a free loopback port."""
    port = _free_port()
    home = tmp_path_factory.mktemp("hf_home")
    (home / "hub").mkdir()  # /v1/models lists the hub cache; it must exist even when empty
    env = dict(os.environ, HF_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    cli = Path(sys.executable).parent / "transformers"
    proc = subprocess.Popen([str(cli), "serve", str(tiny_dir), "--host", "127.0.0.1", "--port", str(port),
                             "--device", "cpu"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"transformers serve exited: {proc.stdout.read()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("transformers serve did not start in 120 s")
    yield f"http://127.0.0.1:{port}/v1"
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_transformers_serve_answers_through_the_openai_backend(served, tiny_dir, make_config, tmp_path):
    # `transformers serve PATH` pins that model: requests must name exactly the same string.
    cfg = make_config(None, f"generator.base_url={served}", f"generator.model={tiny_dir}",
                      "generator.max_retries=2", "generator.timeout_s=60", "generator.concurrency=2")
    gen = make_generator(cfg.generator, tmp_path)
    out = gen.generate(_requests(3, SamplingParams(temperature=0.0, max_tokens=6)))
    gen.close()
    assert all(g.ok for g in out), [g.error for g in out]
    assert all(0 < g.completion_tokens <= 6 for g in out)
