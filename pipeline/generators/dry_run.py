"""Dry runs: a backend that answers without the network and a generator that counts what a run would send.

How the estimate is made (also in the README):
- requests: the stages run for real on a copy of the run directory, with placeholder answers from the
  test server's canned responders (so loops and filters behave much as they will); every request that is
  not already in the response cache is counted. Stages whose control flow depends on answer quality
  (e.g. "generate until N instructions pass the filters") may need more requests in the real run.
- prompt tokens: the rendered prompt's characters / 4 (OpenAI's rule of thumb for English), plus 4 per
  chat message for the chat format's framing.
- completion tokens: per step tag, the mean completion tokens of real answers already in the cache for
  that tag; with none, the request's max_tokens (an upper bound, marked "max").
- cost: the tokens above times `generator.prices[<model>]` (USD per million tokens); cached requests
  cost nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import GeneratorError
from pipeline.generators.base import Backend, Generation, GenerationRequest, ResultCallback
from pipeline.generators.cache import ResponseCache
from pipeline.generators.config import GeneratorConfig
from pipeline.generators.generator import Generator
from pipeline.generators.usage import estimate_cost

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


def estimate_prompt_tokens(req: GenerationRequest) -> int:
    if req.prompt is not None:
        return math.ceil(len(req.prompt) / CHARS_PER_TOKEN)
    messages = req.messages or ()
    chars = sum(len(content) for _, content in messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * len(messages)


def backend_identity(config: GeneratorConfig) -> dict[str, Any]:
    """The identity the real backend would report, so dry-run cache lookups hit the real cache's keys."""
    if config.backend == "transformers":
        return {"backend": "transformers", "model": config.model, "model_dir": str(config.model_dir)}
    return {"backend": "openai", "model": config.model, "mode": config.mode}


class DryRunBackend(Backend):
    """Answers each request at once with a placeholder (the canned test responders), never the network."""

    name = "dry_run"

    def __init__(self, config: GeneratorConfig, max_requests: int = 200_000):
        self.config = config
        self.max_requests = max_requests
        self.sent = 0

    def identity(self) -> dict[str, Any]:
        return backend_identity(self.config)

    def generate_batch(self, requests: list[GenerationRequest], on_result: ResultCallback) -> None:
        self.sent += len(requests)
        if self.sent > self.max_requests:
            raise GeneratorError(f"dry run stopped after {self.max_requests:,} requests: a stage seems to loop "
                                 "on placeholder answers; lower its targets to estimate")
        for i, req in enumerate(requests):
            text = _placeholder(req, self.config.model)
            on_result(i, Generation(text=text, finish_reason="stop", prompt_tokens=estimate_prompt_tokens(req),
                                    completion_tokens=len(text.split()), model=self.config.model))


def _placeholder(req: GenerationRequest, model: str) -> str:
    # Imported here: the test responders pull in the fake server module, needed only for dry runs.
    from pipeline.testing.fake_server import FakeRequest, Reply
    from pipeline.testing.responders import default_responder

    if req.prompt is not None:
        kind, messages, text = "completion", None, req.prompt
        body: dict[str, Any] = {"model": model, "prompt": req.prompt}
    else:
        messages = req.message_dicts()
        kind, text = "chat", "\n".join(m["content"] for m in messages)
        body = {"model": model, "messages": messages}
    body["max_tokens"] = req.params.max_tokens
    reply = default_responder(FakeRequest(kind, text, messages, body, req.sample_index))
    return reply.text if isinstance(reply, Reply) else str(reply)


@dataclass
class StagePlan:
    """What one stage would send: request counts, estimated tokens, and its first batch's prompts."""

    stage: str
    batches: int = 0
    requests: int = 0  # would be sent (not in the cache)
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    completion_basis: set[str] = field(default_factory=set)  # "cache" and/or "max"
    first_batch: list[str] = field(default_factory=list)

    def cost(self, config: GeneratorConfig) -> float | None:
        return estimate_cost(self.prompt_tokens, self.completion_tokens, config.prices.get(config.model))


class DryRunGenerator(Generator):
    """A Generator over DryRunBackend that keeps a StagePlan per stage (the runner sets `.stage`)."""

    def __init__(self, config: GeneratorConfig, cache: ResponseCache | None, failure_log: Any = None):
        super().__init__(DryRunBackend(config), cache=cache, failure_log=failure_log)
        self.config = config
        self.plans: dict[str, StagePlan] = {}
        # Completion lengths of real answers, measured before any placeholder enters the (copied) cache.
        self._mean_completion = cache.mean_completion_tokens() if cache is not None else {}

    def generate(self, requests: list[GenerationRequest], desc: str = "generating") -> list[Generation]:
        plan = self.plans.setdefault(self.stage, StagePlan(self.stage))
        if plan.batches == 0:
            plan.first_batch = [r.prompt_text() for r in requests]
        plan.batches += 1
        out = super().generate(requests, desc)
        for req, gen in zip(requests, out):
            if gen.cached:
                plan.cached += 1
                continue
            plan.requests += 1
            plan.prompt_tokens += estimate_prompt_tokens(req)
            mean = self._mean_completion.get(req.tag)
            if mean is not None:
                plan.completion_tokens += round(min(mean, req.params.max_tokens))
                plan.completion_basis.add("cache")
            else:
                plan.completion_tokens += req.params.max_tokens
                plan.completion_basis.add("max")
        return out
