"""The OpenAI-compatible backend over real HTTP to our fake server: answers, cache, retries, fatal errors."""

from __future__ import annotations

import json
import sqlite3

import pytest

from pipeline.errors import GeneratorError
from pipeline.generators.base import GenerationRequest, SamplingParams
from pipeline.generators.factory import make_generator, sampling
from pipeline.testing.fake_server import FakeOpenAIServer, FaultConfig, Reply

PARAMS = SamplingParams(temperature=0.0, max_tokens=64)


def _chat(text: str, i: int = 0) -> GenerationRequest:
    return GenerationRequest.chat([{"role": "user", "content": text}], PARAMS, tag="test.step", sample_index=i)


def test_chat_and_completion_answers_in_request_order(fake_server, make_config, tmp_path):
    cfg = make_config(fake_server)
    gen = make_generator(cfg.generator, tmp_path)
    reqs = [_chat(f"question number {i}") for i in range(20)]
    reqs.append(GenerationRequest.completion("Once upon a time", PARAMS, tag="test.completion"))
    out = gen.generate(reqs)
    gen.close()
    assert all(g.ok for g in out)
    # The fallback responder is a deterministic function of the prompt: order must match the requests.
    texts = [g.text for g in out]
    assert len(set(texts)) == len(texts)
    with FakeOpenAIServer() as again:
        cfg2 = make_config(again)
        gen2 = make_generator(cfg2.generator, tmp_path / "other")
        assert [g.text for g in gen2.generate(reqs)] == texts
        gen2.close()
    paths = [r["path"] for r in fake_server.requests]
    assert paths.count("/v1/completions") == 1 and paths.count("/v1/chat/completions") == 20
    total = gen.usage.total()
    assert total.requests == 21 and total.failed == 0 and total.completion_tokens > 0


def test_sampling_parameters_reach_the_server(fake_server, make_config, tmp_path):
    cfg = make_config(fake_server, "generator.seed=7")
    gen = make_generator(cfg.generator, tmp_path)
    params = sampling(cfg.generator, None, temperature=0.3, top_p=0.5, max_tokens=12, presence_penalty=1.5,
                      stop=["\n16"])
    gen.generate([GenerationRequest.chat([{"role": "user", "content": "hi"}], params)])
    gen.close()
    body = fake_server.requests[-1]["body"]
    assert body["temperature"] == 0.3 and body["top_p"] == 0.5 and body["max_tokens"] == 12
    assert body["presence_penalty"] == 1.5 and body["stop"] == ["\n16"] and body["seed"] == 7
    assert body["model"] == "test-model"


def test_cache_means_no_request_is_paid_twice(fake_server, make_config, tmp_path):
    cfg = make_config(fake_server)
    reqs = [_chat("same prompt", i) for i in range(3)] + [_chat("other prompt")]
    gen = make_generator(cfg.generator, tmp_path)
    first = gen.generate(reqs)
    gen.close()
    assert fake_server.request_count == 4  # distinct sample indexes are distinct calls
    gen = make_generator(cfg.generator, tmp_path)
    second = gen.generate(reqs)
    gen.close()
    assert fake_server.request_count == 4
    assert [g.text for g in first] == [g.text for g in second]
    assert all(g.cached for g in second) and gen.usage.total().cached == 4


def test_no_cache_bypasses_the_cache(fake_server, make_config, tmp_path):
    cfg = make_config(fake_server)
    for _ in range(2):
        gen = make_generator(cfg.generator, tmp_path, use_cache=False)
        gen.generate([_chat("x")])
        gen.close()
    assert fake_server.request_count == 2


def test_retries_honour_retry_after_and_are_counted(make_config, tmp_path):
    with FakeOpenAIServer() as srv:
        srv.fail_next(2, 429)
        cfg = make_config(srv)
        gen = make_generator(cfg.generator, tmp_path)
        out = gen.generate([_chat("retry me")])
        gen.close()
    assert out[0].ok and out[0].retries == 2
    assert [r["status"] for r in srv.requests] == [429, 429, 200]
    assert gen.usage.total().retries == 2


def test_faulty_server_every_request_answered_or_recorded(make_config, tmp_path):
    faults = FaultConfig(rate_429=0.2, rate_500=0.1, rate_503=0.05, rate_malformed=0.05, rate_empty=0.0,
                         seed=3)
    with FakeOpenAIServer(faults=faults) as srv:
        cfg = make_config(srv, "generator.max_retries=8", "generator.concurrency=8")
        gen = make_generator(cfg.generator, tmp_path)
        out = gen.generate([_chat(f"p{i}") for i in range(60)])
        gen.close()
    assert all(g.ok for g in out)
    total = gen.usage.total()
    assert total.retries > 0 and total.failed == 0


def test_exhausted_retries_become_a_recorded_failure(make_config, tmp_path):
    with FakeOpenAIServer() as srv:
        srv.fail_next(3, 500)
        cfg = make_config(srv, "generator.max_retries=2")
        gen = make_generator(cfg.generator, tmp_path)
        out = gen.generate([_chat("doomed")])
        gen.close()
    assert not out[0].ok and "InternalServerError" in out[0].error
    log = [json.loads(x) for x in (tmp_path / "failed_requests.jsonl").read_text().splitlines()]
    assert log[0]["tag"] == "test.step" and log[0]["retries"] == 2
    assert gen.usage.total().failed == 1


def test_timeout_is_retried_then_recorded(make_config, tmp_path):
    faults = FaultConfig(rate_hang=1.0, hang_seconds=5)
    with FakeOpenAIServer(faults=faults) as srv:
        cfg = make_config(srv, "generator.max_retries=1", "generator.timeout_s=0.3")
        gen = make_generator(cfg.generator, tmp_path)
        out = gen.generate([_chat("slow")])
        gen.close()
    assert not out[0].ok and "timeout" in out[0].error


def test_truncated_answers_report_length(make_config, tmp_path):
    with FakeOpenAIServer(responder=lambda r: Reply("one two three four five six")) as srv:
        cfg = make_config(srv)
        gen = make_generator(cfg.generator, tmp_path)
        out = gen.generate([GenerationRequest.chat([{"role": "user", "content": "q"}],
                                                   SamplingParams(max_tokens=3))])
        gen.close()
    assert out[0].truncated and out[0].text == "one two three"


def test_rejected_key_is_fatal_with_a_fix(make_config, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_KEY", "wrong-key")
    with FakeOpenAIServer(api_key="right-key") as srv:
        cfg = make_config(srv, "generator.api_key_env=TEST_KEY")
        gen = make_generator(cfg.generator, tmp_path)
        with pytest.raises(GeneratorError, match="TEST_KEY"):
            gen.generate([_chat("hi")])
        gen.close()


def test_unknown_model_is_fatal_with_a_fix(make_config, tmp_path):
    with FakeOpenAIServer(models=["served-model"]) as srv:
        cfg = make_config(srv)
        gen = make_generator(cfg.generator, tmp_path)
        with pytest.raises(GeneratorError, match="model 'test-model' not found"):
            gen.generate([_chat("hi")])
        gen.close()


def test_unreachable_server_stops_at_once(make_config, tmp_path):
    cfg = make_config(None, "generator.base_url=http://127.0.0.1:9/v1")
    gen = make_generator(cfg.generator, tmp_path)
    with pytest.raises(GeneratorError, match="cannot reach http://127.0.0.1:9/v1"):
        gen.generate([_chat("hi")])
    gen.close()


def test_missing_key_for_openai_says_how_to_fix(make_config, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cfg = make_config(None)
    with pytest.raises(GeneratorError, match="set the OPENAI_API_KEY environment variable"):
        make_generator(cfg.generator, tmp_path)


def test_api_key_never_stored_in_cache_or_logs(make_config, tmp_path, monkeypatch):
    key = "sk-test-SECRET-0123456789abcdef"
    monkeypatch.setenv("TEST_KEY", key)
    with FakeOpenAIServer(api_key=key) as srv:
        srv.fail_next(3, 500)
        cfg = make_config(srv, "generator.api_key_env=TEST_KEY", "generator.max_retries=2")
        gen = make_generator(cfg.generator, tmp_path)
        gen.generate([_chat("fails"), _chat("works")])
        gen.close()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    rows = sqlite3.connect(tmp_path / "cache.sqlite").execute("SELECT * FROM responses").fetchall()
    assert rows and key not in repr(rows)


def test_replicas_share_the_load(make_config, tmp_path):
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        cfg = make_config(None, f"generator.base_urls=[{a.base_url},{b.base_url}]")
        gen = make_generator(cfg.generator, tmp_path)
        assert all(g.ok for g in gen.generate([_chat(f"q{i}") for i in range(10)]))
        gen.close()
        assert a.request_count == 5 and b.request_count == 5


def test_identical_requests_in_a_batch_are_paid_once(fake_server, make_config, tmp_path):
    cfg = make_config(fake_server)
    gen = make_generator(cfg.generator, tmp_path)
    reqs = [_chat("same"), _chat("same"), _chat("same", 1), _chat("same")]
    first = gen.generate(reqs)
    gen.close()
    assert fake_server.request_count == 2  # "same"/0 once, "same"/1 once
    assert first[0].text == first[1].text == first[3].text and not first[0].cached and first[1].cached
    gen = make_generator(cfg.generator, tmp_path)
    assert [g.text for g in gen.generate(reqs)] == [g.text for g in first]  # a resumed run reads the same
    gen.close()
    assert fake_server.request_count == 2
