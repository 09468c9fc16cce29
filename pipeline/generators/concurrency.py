"""Adaptive concurrency: halve on rate limiting or climbing latency, grow back one step at a time (AIMD)."""

from __future__ import annotations

import asyncio
import time
from collections import deque


class AdaptiveLimiter:
    """An asyncio limiter whose limit moves between 1 and `maximum`.

    Like TCP congestion control: a 429 (or latency well above the recent best) halves the limit; every
    `grow_after` successes in a row raise it by one. A self-hosted server that never answers 429 still
    slows down as its queue grows, which the latency rule catches."""

    def __init__(self, maximum: int, grow_after: int = 8, latency_factor: float = 3.0):
        self.maximum = maximum
        self.limit = maximum
        self.grow_after = grow_after
        self.latency_factor = latency_factor
        self._in_flight = 0
        self._streak = 0
        self._cond: asyncio.Condition | None = None
        self._latencies: deque[float] = deque(maxlen=64)
        self._last_decrease = float("-inf")
        self.decreases = 0
        self.increases = 0
        self.lowest = maximum

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self) -> None:
        cond = self._condition()
        async with cond:
            await cond.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1

    async def release(self) -> None:
        cond = self._condition()
        async with cond:
            self._in_flight -= 1
            # Wake only as many waiters as there are free slots: notify_all would wake every queued
            # request on each release (quadratic CPU with hundreds queued). A raised limit is picked up
            # here too, since free slots = limit - in flight.
            cond.notify(max(1, self.limit - self._in_flight))

    def reset_loop(self) -> None:
        """Forget the asyncio objects bound to a finished event loop (limit and history are kept)."""
        self._cond = None
        self._in_flight = 0

    def on_success(self, latency_s: float, started_at: float | None = None) -> None:
        best = min(self._latencies) if self._latencies else latency_s
        self._latencies.append(latency_s)
        if len(self._latencies) >= 16 and latency_s > self.latency_factor * max(best, 0.05):
            self._decrease(started_at)
            return
        self._streak += 1
        if self._streak >= self.grow_after and self.limit < self.maximum:
            self.limit += 1
            self.increases += 1
            self._streak = 0

    def on_throttle(self, started_at: float | None = None) -> None:
        self._decrease(started_at)

    def _decrease(self, started_at: float | None = None) -> None:
        """Halve once per round trip: requests sent before the last cut say nothing about the new limit
        (as TCP reacts once per window), so a burst of 429s does not drive the limit straight to 1."""
        self._streak = 0
        if started_at is not None and started_at < self._last_decrease:
            return
        new = max(1, self.limit // 2)
        if new < self.limit:
            self.decreases += 1
            self._last_decrease = time.monotonic()
        self.limit = new
        self.lowest = min(self.lowest, new)
