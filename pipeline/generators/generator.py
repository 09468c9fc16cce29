"""The generator stages use: cache lookups, persisting each answer on arrival, accounting, progress."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from pathlib import Path

from pipeline.errors import redact_secrets
from pipeline.generators.base import Backend, Generation, GenerationRequest
from pipeline.generators.cache import ResponseCache
from pipeline.generators.usage import Usage
from pipeline.progress import progress_bar


class Generator:
    def __init__(self, backend: Backend, cache: ResponseCache | None = None,
                 failure_log: str | Path | None = None, sequential: bool = False):
        self.backend = backend
        self.cache = cache
        self.usage = Usage()
        self.failure_log = Path(failure_log) if failure_log else None
        self.sequential = sequential
        # The stage now calling (set by the runner), so each failure log line says where it came from.
        self.stage = ""
        self._identity = backend.identity()
        self._log_lock = threading.Lock()

    @property
    def model(self) -> str:
        return str(self._identity.get("model", ""))

    def generate(self, requests: list[GenerationRequest], desc: str = "generating") -> list[Generation]:
        """Answers in request order. Cached answers return at once; the rest go to the backend and
        each is written to the cache the moment it arrives, before any stage code sees it."""
        results: list[Generation | None] = [None] * len(requests)
        keys = [r.cache_key(self._identity) for r in requests]
        # Identical requests in one batch (same prompt, params and sample index) are sent once: the cache
        # can hold only one answer for them, so sending both would pay twice and make a resumed run
        # differ from the first. Stages that want several samples give them distinct sample indexes.
        twins: dict[str, list[int]] = {}
        misses: list[int] = []
        for i, key in enumerate(keys):
            hit = self.cache.get(key) if self.cache else None
            if hit is not None:
                results[i] = hit
            elif key in twins:
                twins[key].append(i)
            else:
                twins[key] = [i]
                misses.append(i)

        with progress_bar(len(requests), desc, extra_fields=("level",)) as bar:
            bar.advance(len(requests) - sum(len(twins[keys[i]]) for i in misses))

            def on_result(j: int, gen: Generation) -> None:
                first = misses[j]
                if gen.ok and self.cache is not None:
                    self.cache.put(keys[first], requests[first].tag, _request_summary(requests[first]), gen)
                for n, i in enumerate(twins[keys[first]]):
                    if not gen.ok:
                        self._log_failure(requests[i], gen)
                    # Only the first was paid; its twins count as answered from the cache.
                    results[i] = gen if n == 0 else replace(gen, cached=gen.ok, retries=0)
                bar.advance(len(twins[keys[first]]), level=self.backend.concurrency_level())

            if misses:
                pending = [requests[i] for i in misses]
                if self.sequential:
                    for j, req in enumerate(pending):
                        self.backend.generate_batch([req], lambda _k, g, j=j: on_result(j, g))
                else:
                    self.backend.generate_batch(pending, on_result)

        out: list[Generation] = []
        for req, gen in zip(requests, results):
            if gen is None:  # a backend that forgot a request: never pass silently
                gen = Generation(error="backend returned no answer")
            self.usage.add(req.tag, gen)
            out.append(gen)
        return out

    def _log_failure(self, req: GenerationRequest, gen: Generation) -> None:
        if self.failure_log is None:
            return
        line = redact_secrets(json.dumps({"stage": self.stage, "tag": req.tag, "error": gen.error,
                                          "retries": gen.retries, "request": _request_summary(req)},
                                         ensure_ascii=False))
        with self._log_lock:
            self.failure_log.parent.mkdir(parents=True, exist_ok=True)
            with open(self.failure_log, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def close(self) -> None:
        self.backend.close()
        if self.cache is not None:
            self.cache.close()


def _request_summary(req: GenerationRequest) -> dict:
    return {
        "messages": req.message_dicts() if req.messages is not None else None,
        "prompt": req.prompt,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in req.params.__dict__.items()},
        "sample_index": req.sample_index,
    }
