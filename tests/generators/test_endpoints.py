"""Spreading over replicas: a failing replica rests for a cool-down, a probe brings it back, dead ones
never receive a request, and every request still gets an answer from a healthy replica."""

from __future__ import annotations

import asyncio
import time

from pipeline.generators.base import GenerationRequest, SamplingParams
from pipeline.generators.endpoints import EndpointPool
from pipeline.generators.factory import make_generator
from pipeline.testing.fake_server import FakeOpenAIServer

PARAMS = SamplingParams(temperature=0.0, max_tokens=32)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _requests(n: int, tag: str) -> list[GenerationRequest]:
    return [GenerationRequest.chat([{"role": "user", "content": f"{tag} question {i}"}], PARAMS, tag="t.s")
            for i in range(n)]


def test_failure_streak_cooldown_probe_and_return() -> None:
    clock = Clock()
    pool = EndpointPool(["a", "b"], per_endpoint=2, failures=3, cooldown_s=10, clock=clock)

    async def scenario() -> list[str]:
        seen = []
        for _ in range(3):  # three failures in a row on "a" (b keeps answering)
            ep = await pool.acquire()
            while ep.url != "a":
                await pool.release(ep, False)
                ep = await pool.acquire()
            await pool.release(ep, True, "APIConnectionError")
        for _ in range(4):  # a is out: everything goes to b
            ep = await pool.acquire()
            seen.append(ep.url)
            await pool.release(ep, False)
        clock.now += 10.5  # cool-down over: exactly one probe may go to a
        first, second = await pool.acquire(), await pool.acquire()
        seen += [first.url, second.url]
        await pool.release(second, False)
        await pool.release(first, True, "InternalServerError")  # the probe fails: out again, twice as long
        clock.now += 15
        ep = await pool.acquire()
        seen.append(ep.url)
        await pool.release(ep, False)
        clock.now += 6  # 2 x 10 s after the failed probe: a probe again, and this one succeeds
        ep = await pool.acquire()
        while ep.url != "a":
            await pool.release(ep, False)
            ep = await pool.acquire()
        await pool.release(ep, False)
        return seen

    seen = asyncio.run(scenario())
    assert seen[:4] == ["b"] * 4
    assert sorted(seen[4:6]) == ["a", "b"]
    assert seen[6] == "b"
    a = pool.stats()["a"]
    assert a["cooldowns"] == 2 and a["healthy"] and pool.endpoints[0].history == ["down", "down", "back"]


def test_per_endpoint_limit_and_waiting_when_all_are_out() -> None:
    clock = Clock()
    pool = EndpointPool(["a", "b"], per_endpoint=1, failures=1, cooldown_s=0.05)

    async def scenario() -> None:
        a, b = await pool.acquire(), await pool.acquire()
        assert {a.url, b.url} == {"a", "b"}
        waiter = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        assert not waiter.done()  # both replicas at their limit of one request
        await pool.release(a, True)
        await pool.release(b, True)  # both out for 50 ms: the waiter gets the first probe
        started = time.monotonic()
        probe = await waiter
        assert time.monotonic() - started >= 0.03 and probe.probing

    asyncio.run(scenario())
    assert clock.now == 100.0


def test_generation_goes_around_a_stopped_and_a_failing_replica(make_config, tmp_path) -> None:
    with FakeOpenAIServer() as good, FakeOpenAIServer() as flaky, FakeOpenAIServer() as dead:
        dead.stop()
        flaky.fail_next(1000, 503)
        urls = [good.base_url, flaky.base_url, dead.base_url]
        cfg = make_config(None, f"generator.base_urls={urls}", "generator.base_url=null", "generator.concurrency=4",
                          "generator.endpoint_failures=2", "generator.endpoint_cooldown_s=60",
                          "generator.backoff_base_s=0")
        gen = make_generator(cfg.generator, tmp_path, use_cache=False)
        out = gen.generate(_requests(40, "first"))
        pool = gen.backend.pool
        stats = pool.stats()
        gen.close()
    assert all(g.ok for g in out)
    assert good.request_count == 40
    # The flaky replica answered 503 only until its streak took it out; the stopped one got nothing.
    assert 2 <= flaky.request_count <= 4
    assert stats[flaky.base_url]["cooldowns"] == 1 and not stats[flaky.base_url]["healthy"]
    assert stats[dead.base_url]["requests"] == 0 and not stats[dead.base_url]["healthy"]


def test_a_rested_replica_is_probed_and_takes_traffic_again(make_config, tmp_path) -> None:
    with FakeOpenAIServer() as good, FakeOpenAIServer() as flaky:
        flaky.fail_next(2, 503)
        cfg = make_config(None, f"generator.base_urls={[good.base_url, flaky.base_url]}", "generator.base_url=null",
                          "generator.concurrency=2", "generator.endpoint_failures=2",
                          "generator.endpoint_cooldown_s=0.2", "generator.backoff_base_s=0")
        gen = make_generator(cfg.generator, tmp_path, use_cache=False)
        first = gen.generate(_requests(12, "first"))
        assert flaky.base_url not in gen.backend.pool.healthy()
        time.sleep(0.3)
        flaky.reset_log()
        second = gen.generate(_requests(20, "second"))
        gen.close()
    assert all(g.ok for g in first + second)
    statuses = [r["status"] for r in flaky.requests]
    assert statuses.count(200) >= 5  # probed, back, and sharing the load
