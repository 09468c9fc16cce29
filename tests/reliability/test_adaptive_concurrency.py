"""Concurrency adapts to 429s and latency, the progress bar shows the level, --sequential sends one at a time."""

from __future__ import annotations

import io
import threading
import time

from rich.console import Console

import pipeline.generators.generator as generator_mod
import pipeline.progress as progress_mod
from pipeline.cli import main
from pipeline.generators.base import GenerationRequest, SamplingParams
from pipeline.generators.concurrency import AdaptiveLimiter
from pipeline.generators.factory import make_generator
from pipeline.testing.fake_server import FakeOpenAIServer, Reply


def _reqs(n: int) -> list[GenerationRequest]:
    return [GenerationRequest.chat([{"role": "user", "content": f"question {i}"}], SamplingParams(max_tokens=16),
                                   tag="t") for i in range(n)]


def test_limiter_halves_once_per_round_trip_and_grows_back():
    lim = AdaptiveLimiter(16, grow_after=2)
    sent = time.monotonic()
    for _ in range(10):  # a burst of 429s from requests all sent before the first cut
        lim.on_throttle(sent)
    assert lim.limit == 8 and lim.decreases == 1
    lim.on_throttle(time.monotonic())  # a request sent after the cut: cut again
    assert lim.limit == 4
    for _ in range(8):
        lim.on_success(0.01)
    assert lim.limit == 8 and lim.increases == 4


def test_limiter_backs_off_when_latency_climbs_without_429():
    lim = AdaptiveLimiter(32)
    for _ in range(16):
        lim.on_success(0.1)
    lim.on_success(0.5)  # a self-hosted server's queue growing: 5x the best latency
    assert lim.limit == 16


def test_repeated_429s_lower_the_level_and_recovery_raises_it(make_config, tmp_path, monkeypatch):
    levels: list[int] = []

    class Recorder:
        def advance(self, n=1, **fields):
            if "level" in fields:
                levels.append(fields["level"])

        def set(self, **fields):
            pass

    class _Bar:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return Recorder()

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(generator_mod, "progress_bar", _Bar)
    with FakeOpenAIServer(latency=0.005) as srv:
        srv.fail_next(40, 429)
        cfg = make_config(srv, "generator.concurrency=16", "generator.backoff_max_s=0.02")
        gen = make_generator(cfg.generator, tmp_path)
        out = gen.generate(_reqs(300))
        limiter = gen.backend.limiter
        gen.close()
    assert all(g.ok for g in out)
    assert limiter.lowest <= 4 and limiter.decreases >= 2  # lowered under repeated 429s
    assert limiter.increases >= 8 and levels[-1] > min(levels)  # raised again once answers recovered
    assert min(levels) == limiter.lowest


def test_progress_bar_shows_the_concurrency_level(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setenv("INSTRUCT_PIPELINE_PROGRESS", "1")
    monkeypatch.setattr(progress_mod, "_console", Console(file=buf, force_terminal=True, width=160))
    with progress_mod.progress_bar(10, "generating", extra_fields=("level",)) as bar:
        bar.advance(3, level=7)
    assert "conc 7" in buf.getvalue()


def _concurrency_probe():
    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    def responder(req):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return Reply("an answer of several words that passes")

    return responder, state


def test_sequential_flag_sends_one_request_at_a_time(local_pipeline, make_config, tmp_path):
    responder, state = _concurrency_probe()
    with FakeOpenAIServer(responder=responder) as srv:
        args = ["run", "--sequential", "--set", f"generator.base_url={srv.base_url}", "--set",
                "generator.model=test-model", "--set", f"seeds.paths=[{local_pipeline}]", "--set", "report=false",
                "--output-dir", str(tmp_path / "seq")]
        assert main(args) == 0
        # 24 distinct self-instruct requests; the probe answers every one alike, so the 24 evol requests
        # are identical and are paid once (identical requests in a batch share one answer).
        assert srv.request_count == 25 and state["max"] == 1
        state["max"] = 0
        parallel = [a if a != str(tmp_path / "seq") else str(tmp_path / "par") for a in args if a != "--sequential"]
        assert main(parallel) == 0
        assert state["max"] > 1
