"""Health-aware spreading of requests over several replicas: per-endpoint slots, a failure streak takes an
endpoint out for a cool-down, and one real request probes it before it takes traffic again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Endpoint:
    url: str
    index: int
    in_flight: int = 0
    streak: int = 0  # consecutive failures (connection errors, 5xx)
    down_until: float = 0.0  # while now < down_until the endpoint gets no request
    probing: bool = False  # cool-down over: one request decides whether it is back
    cooldowns: int = 0
    requests: int = 0
    failures: int = 0
    last_error: str = ""
    history: list[str] = field(default_factory=list)


class EndpointPool:
    """`acquire()` -> the healthy endpoint with a free slot and the fewest requests in flight (ties go
    round-robin); `release(endpoint, failed)` after each attempt.

    `failures` failures in a row take an endpoint out for `cooldown_s`, doubled for each further failed
    probe up to 8x (a replica that stays down costs one probe per cool-down, not one per request). After
    the cool-down exactly one request probes it: success brings it back, failure restarts the cool-down.
    When every endpoint is out, requests wait for the first one to come back: a request is never sent
    to an endpoint known to be down, and never failed without trying one."""

    def __init__(self, urls: list[str], per_endpoint: int | None = None, failures: int = 3,
                 cooldown_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.endpoints = [Endpoint(url, i) for i, url in enumerate(urls)]
        self.per_endpoint = per_endpoint
        self.failures = failures
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._next = 0
        self._cond: asyncio.Condition | None = None

    def reset_loop(self) -> None:
        """Forget asyncio objects bound to a finished event loop; health is kept across batches."""
        self._cond = None
        for ep in self.endpoints:
            ep.in_flight = 0
            ep.probing = False

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    def _usable(self, ep: Endpoint, now: float) -> bool:
        if now < ep.down_until:
            return False
        if ep.down_until and ep.streak >= self.failures:  # cool-down over, not yet proven healthy
            return not ep.probing and ep.in_flight == 0
        return self.per_endpoint is None or ep.in_flight < self.per_endpoint

    def _pick(self) -> Endpoint | None:
        now = self.clock()
        n = len(self.endpoints)
        order = [self.endpoints[(self._next + k) % n] for k in range(n)]
        usable = [ep for ep in order if self._usable(ep, now)]
        if not usable:
            return None
        ep = min(usable, key=lambda e: e.in_flight)  # min keeps the first of equals: round-robin
        self._next = (ep.index + 1) % n
        if ep.down_until and ep.streak >= self.failures:
            ep.probing = True
        ep.in_flight += 1
        ep.requests += 1
        return ep

    def _wait_s(self) -> float | None:
        """Seconds until the first endpoint out for a cool-down may be probed (None: wait for a release)."""
        now = self.clock()
        waits = [ep.down_until - now for ep in self.endpoints if ep.down_until > now]
        return max(0.0, min(waits)) + 0.001 if waits else None

    async def acquire(self) -> Endpoint:
        cond = self._condition()
        async with cond:
            while (ep := self._pick()) is None:
                try:
                    await asyncio.wait_for(cond.wait(), timeout=self._wait_s())
                except asyncio.TimeoutError:
                    pass
            return ep

    async def release(self, ep: Endpoint, failed: bool, error: str = "") -> None:
        cond = self._condition()
        async with cond:
            self.record(ep, failed, error)
            cond.notify_all()

    def record(self, ep: Endpoint, failed: bool, error: str = "") -> None:
        ep.in_flight = max(0, ep.in_flight - 1)
        was_probe, ep.probing = ep.probing, False
        if not failed:
            if ep.down_until:
                ep.history.append("back")
            ep.streak, ep.down_until = 0, 0.0
            return
        ep.failures += 1
        ep.streak += 1
        ep.last_error = error[:200]
        if len(self.endpoints) == 1:  # nowhere else to send it: retries and their backoff decide
            return
        if ep.streak >= self.failures and (was_probe or self.clock() >= ep.down_until):
            ep.cooldowns += 1
            factor = min(8, 2 ** max(0, ep.cooldowns - 1)) if was_probe else 1
            ep.down_until = self.clock() + self.cooldown_s * factor
            ep.history.append("down")

    def mark_down(self, url: str, error: str) -> None:
        """Take an endpoint out before any request (it refused the reachability check)."""
        for ep in self.endpoints:
            if ep.url == url:
                ep.streak, ep.last_error = self.failures, error[:200]
                ep.cooldowns += 1
                ep.down_until = self.clock() + self.cooldown_s
                ep.history.append("down")

    def healthy(self) -> list[str]:
        now = self.clock()
        return [ep.url for ep in self.endpoints if now >= ep.down_until]

    def stats(self) -> dict[str, dict[str, Any]]:
        return {ep.url: {"requests": ep.requests, "failures": ep.failures, "cooldowns": ep.cooldowns,
                         "healthy": self.clock() >= ep.down_until, "last_error": ep.last_error}
                for ep in self.endpoints}
