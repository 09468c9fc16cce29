"""OpenAI-compatible backend (OpenAI, vLLM, Ollama, llama.cpp server, `transformers serve`) on the async
`openai` client: bounded adaptive concurrency, retries with backoff that honour Retry-After, timeouts."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import time
from typing import Any
from urllib.parse import urlparse

import openai
from openai.types import Completion
from openai.types.chat import ChatCompletion
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from pipeline.errors import GeneratorError, redact_secrets, register_secret
from pipeline.generators.base import Backend, Generation, GenerationRequest, ResultCallback
from pipeline.generators.concurrency import AdaptiveLimiter
from pipeline.generators.config import GeneratorConfig
from pipeline.generators.endpoints import EndpointPool

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
CONNECTIONS_PER_CLIENT = 16


class MalformedResponse(Exception):
    """The server answered 200 with something that is not a usable completion."""


class _Retryable(Exception):
    def __init__(self, cause: BaseException):
        self.cause = cause
        super().__init__(str(cause))


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError,
                        openai.InternalServerError, openai.APIResponseValidationError, MalformedResponse,
                        json.JSONDecodeError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code in (408, 409, 429, 500, 502, 503, 504)


def _retry_after_s(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            return None
        return seconds / 1000 if name.endswith("ms") else seconds
    return None


def resolve_api_key(config: GeneratorConfig) -> str:
    """The key from the configured environment variable; local servers need none."""
    key = os.environ.get(config.api_key_env, "")
    if key:
        register_secret(key)
        return key
    if config.base_url or config.base_urls:
        return "EMPTY"  # vLLM, Ollama, llama.cpp and transformers serve accept any key
    raise GeneratorError(
        f"no API key: set the {config.api_key_env} environment variable for OpenAI, or point "
        "generator.base_url at a local OpenAI-compatible server (e.g. --set generator.base_url=http://127.0.0.1:8000/v1)"
    )


def check_reachable(url: str, timeout_s: float = 3.0) -> None:
    """Open a TCP connection to the server (sends no request, so nothing is paid or logged)."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout_s):
            return
    except OSError as exc:
        raise GeneratorError(
            f"cannot reach {url} ({exc.strerror or exc}): start the server or fix generator.base_url; "
            "for OpenAI leave base_url unset and set the API key variable"
        ) from None


def _is_endpoint_failure(exc: BaseException) -> bool:
    """Errors that say the replica itself is unwell (unreachable, timing out, 5xx), not the request."""
    if isinstance(exc, (openai.APIConnectionError, openai.InternalServerError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, config: GeneratorConfig):
        self.config = config
        self.api_key = resolve_api_key(config)
        self.urls = list(config.base_urls) or [config.base_url or OPENAI_DEFAULT_URL]
        self.limiter = AdaptiveLimiter(config.concurrency)
        self.pool = EndpointPool(self.urls, config.endpoint_concurrency, config.endpoint_failures,
                                 config.endpoint_cooldown_s)
        self._checked = False
        self._rng = random.Random(0)

    def identity(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.config.model, "mode": self.config.mode}

    def _check_endpoints(self) -> None:
        """Every replica must accept a TCP connection, except that with several a dead one is only taken
        out for a cool-down (and probed later): the run fails here only when none is reachable."""
        errors = []
        for url in self.urls:
            try:
                check_reachable(url)
            except GeneratorError as exc:
                errors.append(exc)
                self.pool.mark_down(url, exc.message)
        if len(errors) == len(self.urls):
            raise errors[0]

    def concurrency_level(self) -> int:
        return self.limiter.limit

    def generate_batch(self, requests: list[GenerationRequest], on_result: ResultCallback) -> None:
        if not requests:
            return
        if not self._checked:
            self._check_endpoints()
            self._checked = True
        asyncio.run(self._run(requests, on_result))

    async def _run(self, requests: list[GenerationRequest], on_result: ResultCallback) -> None:
        self.limiter.reset_loop()
        self.pool.reset_loop()
        # httpx's connection pool scans every connection for each request it places, so one pool of 64+
        # connections spends more CPU than the requests themselves: several small pools per replica keep
        # each scan short. Which replica serves a request is the endpoint pool's choice, per attempt.
        shards = max(1, -(-self.config.concurrency // CONNECTIONS_PER_CLIENT))
        by_url = {url: [openai.AsyncOpenAI(api_key=self.api_key, base_url=url, max_retries=0,
                                           timeout=self.config.timeout_s) for _ in range(shards)]
                  for url in self.urls}
        clients = [c for shard in by_url.values() for c in shard]
        try:
            tasks = [asyncio.create_task(self._one(by_url, i, req, on_result)) for i, req in enumerate(requests)]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        finally:
            for c in clients:
                await c.close()

    async def _one(self, by_url: dict[str, list[openai.AsyncOpenAI]], index: int, req: GenerationRequest,
                   on_result: ResultCallback) -> None:
        attempts = 0
        where = [self.urls[0]]  # the replica of the latest attempt, for error messages

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = _retry_after_s(exc) if exc else None
            if hinted is not None:
                return min(hinted, self.config.backoff_max_s)
            base = self.config.backoff_base_s * (2 ** (state.attempt_number - 1))
            return self._rng.uniform(0, min(base, self.config.backoff_max_s))  # full jitter

        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.config.max_retries + 1), wait=wait,
                retry=retry_if_exception(_is_retryable), reraise=True,
            ):
                with attempt:
                    attempts += 1
                    gen = await self._call(by_url, index, req, where)
            gen.retries = attempts - 1
            on_result(index, gen)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise GeneratorError(
                f"the server at {where[0]} rejected the API key ({exc.status_code}): set a valid key in "
                f"the {self.config.api_key_env} environment variable"
            ) from None
        except openai.NotFoundError:
            raise GeneratorError(
                f"model '{self.config.model}' not found at {where[0]} (404): check generator.model "
                "against the server's model list"
            ) from None
        except openai.APIConnectionError as exc:
            if isinstance(exc, openai.APITimeoutError):
                on_result(index, Generation(error=f"timeout after {attempts} attempts", retries=attempts - 1))
                return
            raise GeneratorError(
                f"lost the server at {where[0]} after {attempts} attempts: start it again and rerun the "
                "same command; every answer received so far is cached and will not be paid again"
            ) from None
        except Exception as exc:  # noqa: BLE001 (unrecoverable for this request only: the stage records it)
            message = redact_secrets(" ".join(f"{type(exc).__name__}: {exc}".split()))
            on_result(index, Generation(error=message[:500], retries=attempts - 1))

    async def _call(self, by_url: dict[str, list[openai.AsyncOpenAI]], index: int, req: GenerationRequest,
                    where: list[str]) -> Generation:
        p = req.params
        kwargs: dict[str, Any] = {"model": self.config.model, "temperature": p.temperature, "top_p": p.top_p,
                                  "max_tokens": p.max_tokens}
        if p.presence_penalty:
            kwargs["presence_penalty"] = p.presence_penalty
        if p.frequency_penalty:
            kwargs["frequency_penalty"] = p.frequency_penalty
        if p.stop:
            kwargs["stop"] = list(p.stop)[:4]  # OpenAI accepts at most 4 stop sequences
        if p.seed is not None:
            kwargs["seed"] = p.seed
        await self.limiter.acquire()
        # The replica is chosen once a slot is granted, per attempt: a retry goes to a healthy one.
        endpoint = await self.pool.acquire()
        where[0] = endpoint.url
        client = by_url[endpoint.url][index % len(by_url[endpoint.url])]
        failed, error = True, ""
        started = time.monotonic()
        try:
            if req.prompt is not None:
                resp = await client.post("/completions", body={"prompt": req.prompt, **kwargs}, cast_to=Completion)
                choice = resp.choices[0] if resp.choices else None
                text = getattr(choice, "text", None)
            else:
                # client.post, not chat.completions.create: our body is already plain JSON, and create's
                # per-request TypedDict transform cost ~0.5 ms CPU of ~3 ms (bench/generation.py, conc 64).
                resp = await client.post("/chat/completions", body={"messages": req.message_dicts(), **kwargs},
                                         cast_to=ChatCompletion)
                choice = resp.choices[0] if resp.choices else None
                text = choice.message.content if choice is not None and choice.message is not None else None
            failed = False
        except openai.RateLimitError:
            self.limiter.on_throttle(started)
            failed = False
            raise
        except BaseException as exc:
            failed, error = _is_endpoint_failure(exc), type(exc).__name__
            raise
        finally:
            await self.pool.release(endpoint, failed, error)
            await self.limiter.release()
        if choice is None or not isinstance(resp, openai.BaseModel) or text is None:
            raise MalformedResponse("response has no choices or no content")
        if not text.strip() and choice.finish_reason != "length":
            # An empty answer that claims to be complete is a server glitch; a new sample usually is not.
            raise MalformedResponse("empty completion")
        self.limiter.on_success(time.monotonic() - started, started)
        usage = getattr(resp, "usage", None)
        return Generation(
            text=text,
            finish_reason=choice.finish_reason or "stop",
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            model=getattr(resp, "model", None) or self.config.model,
        )
