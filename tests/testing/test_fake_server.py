"""The fake OpenAI server answers the real `openai` client over loopback HTTP, deterministically."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from pipeline.testing.fake_server import FakeOpenAIServer, FakeRequest, FaultConfig, Reply
from pipeline.testing.responders import fallback_text

REPO_ROOT = Path(__file__).resolve().parents[2]


def _client(srv: FakeOpenAIServer, api_key: str = "test", timeout: float = 5.0) -> OpenAI:
    return OpenAI(base_url=srv.base_url, api_key=api_key, max_retries=0, timeout=timeout)


def _chat(client: OpenAI, content: str, **kwargs: object) -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": content}], **kwargs
    )


@pytest.fixture
def srv() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def _canned(request: FakeRequest) -> Reply:
    return Reply(f"alpha beta END gamma delta choice{request.choice_index}")


def test_chat_answer_is_plausible_and_deterministic(srv: FakeOpenAIServer) -> None:
    client = _client(srv)
    first = _chat(client, "Name three rivers in Europe.")
    again = _chat(client, "Name three rivers in Europe.")
    other = _chat(client, "Write a haiku about tea.")
    text = first.choices[0].message.content
    assert first.object == "chat.completion" and first.id.startswith("chatcmpl-")
    assert first.choices[0].message.role == "assistant"
    assert first.choices[0].finish_reason == "stop"
    assert 20 <= len(text.split()) <= 60
    assert text == again.choices[0].message.content != other.choices[0].message.content
    assert first.usage.prompt_tokens == 5
    assert first.usage.completion_tokens == len(text.split())
    assert first.usage.total_tokens == 5 + len(text.split())


def test_fallback_text_length_stays_in_range() -> None:
    lengths = [len(fallback_text(f"prompt {i}", i % 3).split()) for i in range(500)]
    assert min(lengths) >= 20 and max(lengths) <= 60
    assert len({fallback_text(f"prompt {i}") for i in range(200)}) == 200


def test_completion_endpoint_and_n_choices(srv: FakeOpenAIServer) -> None:
    client = _client(srv)
    done = client.completions.create(model="fake-model", prompt="Once upon a time", n=3)
    assert done.object == "text_completion"
    assert [choice.index for choice in done.choices] == [0, 1, 2]
    assert len({choice.text for choice in done.choices}) == 3
    assert done.usage.prompt_tokens == 4
    chat = _chat(client, "Give two answers.", n=2)
    assert [choice.index for choice in chat.choices] == [0, 1]
    assert chat.choices[0].message.content != chat.choices[1].message.content


def test_stop_and_max_tokens_set_finish_reason() -> None:
    with FakeOpenAIServer(responder=_canned) as server:
        client = _client(server)
        stopped = _chat(client, "x", stop=["END", "never"])
        assert stopped.choices[0].message.content == "alpha beta "
        assert stopped.choices[0].finish_reason == "stop"
        capped = _chat(client, "x", max_tokens=2)
        assert capped.choices[0].message.content == "alpha beta"
        assert capped.choices[0].finish_reason == "length"
        assert capped.usage.completion_tokens == 2
        newer = _chat(client, "x", max_completion_tokens=3, n=2)
        assert [c.message.content for c in newer.choices] == ["alpha beta END"] * 2
        text = client.completions.create(model="m", prompt="p", stop="gamma", n=2)
        assert [c.text for c in text.choices] == ["alpha beta END "] * 2


def test_api_key_is_required_when_set() -> None:
    with FakeOpenAIServer(api_key="sekrit") as server:
        with pytest.raises(openai.AuthenticationError) as caught:
            _chat(_client(server, api_key="wrong"), "hi")
        assert caught.value.status_code == 401
        assert caught.value.body["code"] == "invalid_api_key"
        assert _chat(_client(server, api_key="sekrit"), "hi").choices[0].message.content


def test_unknown_model_is_404_model_not_found() -> None:
    with FakeOpenAIServer(models=["known"]) as server:
        client = _client(server)
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model="unknown", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.body["code"] == "model_not_found"
        assert caught.value.body["type"] == "invalid_request_error"
        assert [model.id for model in client.models.list()] == ["known"]
        client.chat.completions.create(model="known", messages=[{"role": "user", "content": "hi"}])


def test_bad_json_body_is_400(srv: FakeOpenAIServer) -> None:
    request = urllib.request.Request(
        f"{srv.base_url}/chat/completions", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert set(json.loads(caught.value.read())["error"]) >= {"message", "type", "code"}


def test_forced_429_carries_retry_after_then_recovers(srv: FakeOpenAIServer) -> None:
    client = _client(srv)
    srv.fail_next(2, 429)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as caught:
            _chat(client, "hi")
        assert caught.value.response.headers["Retry-After"] == "0.05"
        assert caught.value.body["code"] == "rate_limit_exceeded"
    assert _chat(client, "hi").choices[0].message.content
    assert [entry["fault"] for entry in srv.requests] == ["forced", "forced", None]


def test_forced_500_is_retried_by_the_client(srv: FakeOpenAIServer) -> None:
    srv.fail_next(1, 500)
    client = OpenAI(base_url=srv.base_url, api_key="test", max_retries=1)
    assert _chat(client, "hi").choices[0].message.content
    assert [entry["status"] for entry in srv.requests] == [500, 200]


RATES = FaultConfig(
    rate_429=0.1, rate_500=0.05, rate_503=0.05, rate_hang=0.05, rate_malformed=0.05,
    rate_empty=0.05, rate_length=0.1, hang_seconds=0.0, seed=7,
)  # fmt: skip


def _faults_for(prompts: list[str]) -> dict[str, str | None]:
    """Send each prompt once, 16 at a time, and return the fault the server drew for each."""
    with FakeOpenAIServer(faults=RATES) as server:
        client = _client(server)

        def send(prompt: str) -> None:
            try:
                _chat(client, prompt)
            except (openai.APIError, ValueError):  # error statuses and the malformed body
                pass

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(send, prompts))
        return {entry["body"]["messages"][0]["content"]: entry["fault"] for entry in server.requests}


def test_fault_rates_are_honoured_and_deterministic() -> None:
    prompts = [f"distinct request number {i}" for i in range(400)]
    first = _faults_for(prompts)
    assert first == _faults_for(list(reversed(prompts)))  # another instance, another arrival order
    counts = Counter(first.values())
    for name in ("429", "500", "503", "hang", "malformed", "empty", "length"):
        expected = 400 * getattr(RATES, f"rate_{name}")
        assert abs(counts[name] - expected) <= 0.5 * expected + 8, (name, counts)


def test_fault_kinds_shape_the_answers() -> None:
    with FakeOpenAIServer(responder=_canned, faults=FaultConfig(rate_empty=1.0)) as server:
        empty = _chat(_client(server), "x")
        assert empty.choices[0].message.content == "" and empty.choices[0].finish_reason == "stop"
    with FakeOpenAIServer(responder=_canned, faults=FaultConfig(rate_length=1.0)) as server:
        cut = _chat(_client(server), "x")
        assert cut.choices[0].message.content == "alpha beta END"
        assert cut.choices[0].finish_reason == "length"
        assert server.paid_count == 1
    with FakeOpenAIServer(faults=FaultConfig(rate_malformed=1.0)) as server:
        with pytest.raises(ValueError):
            _chat(_client(server), "x")
        assert server.paid_count == 0
    with FakeOpenAIServer(faults=FaultConfig(rate_hang=1.0, hang_seconds=30)) as server:
        with pytest.raises(openai.APITimeoutError):
            _chat(_client(server, timeout=0.2), "x")
        began = time.monotonic()
    assert time.monotonic() - began < 2  # stop() wakes the hanging handler


def test_retried_identical_request_gets_a_fresh_draw() -> None:
    faults = FaultConfig(rate_500=0.75, seed=2)

    def statuses() -> list[int]:
        with FakeOpenAIServer(faults=faults) as server:
            client = _client(server)
            for _ in range(40):
                try:
                    _chat(client, "the same request")
                    break
                except openai.InternalServerError:
                    pass
            return [entry["status"] for entry in server.requests]

    first = statuses()
    assert first == [500, 500, 500, 500, 200] == statuses()


def test_stop_then_start_rebinds_the_same_port(srv: FakeOpenAIServer) -> None:
    client = _client(srv, timeout=2)
    assert _chat(client, "before").choices
    port = srv.port
    srv.stop()
    with pytest.raises(openai.APIConnectionError):
        _chat(client, "while down")
    srv.start()
    assert srv.port == port and srv.base_url == f"http://127.0.0.1:{port}/v1"
    assert _chat(client, "after").choices
    assert srv.request_count == 2


def test_request_log_and_paid_count(srv: FakeOpenAIServer) -> None:
    client = _client(srv)
    _chat(client, "one")
    srv.fail_next(1, 503)
    with pytest.raises(openai.InternalServerError):
        _chat(client, "two")
    client.models.list()
    log = srv.requests
    assert [(e["path"], e["status"], e["fault"]) for e in log] == [
        ("/v1/chat/completions", 200, None),
        ("/v1/chat/completions", 503, "forced"),
        ("/v1/models", 200, None),
    ]
    assert log[0]["body"]["messages"] == [{"role": "user", "content": "one"}]
    assert srv.request_count == 3 and srv.paid_count == 1
    srv.reset_log()
    assert srv.requests == [] and srv.request_count == 0 and srv.paid_count == 0


def test_concurrent_requests_overlap_their_latency() -> None:
    with FakeOpenAIServer(latency=0.2) as server:
        client = _client(server)
        began = time.monotonic()
        with ThreadPoolExecutor(64) as pool:
            replies = list(pool.map(lambda i: _chat(client, f"request {i}"), range(64)))
        elapsed = time.monotonic() - began
    assert all(reply.choices[0].message.content for reply in replies)
    assert elapsed < 64 * 0.2 / 4, elapsed


def _start_process(tmp_path: Path, port: int, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port_file = tmp_path / f"port-{time.monotonic_ns()}"
    command = [sys.executable, "-m", "pipeline.testing.fake_server", "--port", str(port)]
    command += ["--latency", "0.01", "--log", str(log), "--port-file", str(port_file)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"fake server process did not write {port_file}")
        time.sleep(0.02)
    return process, int(port_file.read_text())


def _stop_process(process: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=10)
    finally:
        process.kill()
    return process.returncode, out


def test_subprocess_mode_logs_across_restarts(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    process, port = _start_process(tmp_path, 0, log)
    try:
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="test", max_retries=0, timeout=5)
        _chat(client, "first life")
        _chat(client, "first life again")
    finally:
        code, out = _stop_process(process)
    assert code == 0 and out.decode().strip() == str(port)
    process, again = _start_process(tmp_path, port, log)
    try:
        assert again == port
        _chat(client, "second life")
    finally:
        code, _ = _stop_process(process)
    assert code == 0
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    contents = [entry["body"]["messages"][0]["content"] for entry in entries]
    assert contents == ["first life", "first life again", "second life"]
    assert all(entry["status"] == 200 and entry["paid"] for entry in entries)
