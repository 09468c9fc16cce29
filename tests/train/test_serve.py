"""Round trip: a trained tiny checkpoint served by `transformers serve` answers through our generator."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.train.config import TrainConfig
from pipeline.train.loop import train
from pipeline.train.synthetic_tasks import make_split, write_messages_jsonl

SERVE = Path(sys.executable).parent / "transformers"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"transformers serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("transformers serve did not come up")


@pytest.mark.skipif(not SERVE.exists(), reason="transformers CLI not installed (pip install -e '.[train]')")
def test_trained_tiny_model_served_answers_through_openai_backend(tmp_path):
    from pipeline.generators.base import GenerationRequest
    from pipeline.generators.config import GeneratorConfig
    from pipeline.generators.factory import make_generator, sampling

    items, _ = make_split(40, 4, seed=0)
    cfg = TrainConfig(data=str(write_messages_jsonl(items, tmp_path / "d.jsonl")), model="tiny", max_length=128,
                      out_dir=str(tmp_path / "run"), max_steps=2, batch_size=4, lr=3e-3, val_fraction=0,
                      tiny={"vocab_size": 300, "hidden_size": 32, "layers": 1, "heads": 2})
    model_dir = train(cfg).final_dir

    port = _free_port()
    hf_home = tmp_path / "hf"
    (hf_home / "hub").mkdir(parents=True)  # /v1/models scans the hub cache and fails without the folder
    env = dict(os.environ, HF_HOME=str(hf_home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.Popen([str(SERVE), "serve", model_dir, "--host", "127.0.0.1", "--port", str(port),
                             "--device", "cpu"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(f"http://127.0.0.1:{port}/v1/models", proc)
        # The server pins the model named on its command line: requests must send that exact string.
        gcfg = GeneratorConfig(base_url=f"http://127.0.0.1:{port}/v1", model=model_dir, max_tokens=8,
                               temperature=0, max_retries=1, timeout_s=60, cache=False)
        gen = make_generator(gcfg, tmp_path)
        try:
            params = sampling(gcfg)
            reqs = [GenerationRequest.chat(it.messages()[:1], params, tag="train.roundtrip", sample_index=i)
                    for i, it in enumerate(items[:3])]
            answers = gen.generate(reqs, desc="round trip")
        finally:
            gen.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert all(a.ok for a in answers), [a.error for a in answers]
    assert all(a.completion_tokens >= 1 and a.finish_reason in ("stop", "length") for a in answers)
    assert answers[0].model == model_dir
