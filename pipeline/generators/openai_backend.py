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
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from pipeline.errors import GeneratorError, redact_secrets, register_secret
from pipeline.generators.base import Backend, Generation, GenerationRequest, ResultCallback
from pipeline.generators.concurrency import AdaptiveLimiter
from pipeline.generators.config import GeneratorConfig

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


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, config: GeneratorConfig):
        self.config = config
        self.api_key = resolve_api_key(config)
        self.urls = list(config.base_urls) or [config.base_url or OPENAI_DEFAULT_URL]
        self.limiter = AdaptiveLimiter(config.concurrency)
        self._checked = False
        self._rng = random.Random(0)

    def identity(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.config.model, "mode": self.config.mode}

    def concurrency_level(self) -> int:
        return self.limiter.limit

    def generate_batch(self, requests: list[GenerationRequest], on_result: ResultCallback) -> None:
        if not requests:
            return
        if not self._checked:
            for url in self.urls:
                check_reachable(url)
            self._checked = True
        asyncio.run(self._run(requests, on_result))

    async def _run(self, requests: list[GenerationRequest], on_result: ResultCallback) -> None:
        self.limiter.reset_loop()
        # httpx's connection pool scans every connection for each request it places, so one pool of 64+
        # connections spends more CPU than the requests themselves: several small pools (interleaved
        # across replicas, so `i % len` still spreads load evenly) keep each scan short.
        shards = max(1, -(-self.config.concurrency // CONNECTIONS_PER_CLIENT))
        clients = [openai.AsyncOpenAI(api_key=self.api_key, base_url=url, max_retries=0,
                                      timeout=self.config.timeout_s) for _ in range(shards) for url in self.urls]
        try:
            tasks = [asyncio.create_task(self._one(clients[i % len(clients)], i, req, on_result))
                     for i, req in enumerate(requests)]
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

    async def _one(self, client: openai.AsyncOpenAI, index: int, req: GenerationRequest,
                   on_result: ResultCallback) -> None:
        attempts = 0

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
                    gen = await self._call(client, req)
            gen.retries = attempts - 1
            on_result(index, gen)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise GeneratorError(
                f"the server at {client.base_url} rejected the API key ({exc.status_code}): set a valid key in "
                f"the {self.config.api_key_env} environment variable"
            ) from None
        except openai.NotFoundError:
            raise GeneratorError(
                f"model '{self.config.model}' not found at {client.base_url} (404): check generator.model "
                "against the server's model list"
            ) from None
        except openai.APIConnectionError as exc:
            if isinstance(exc, openai.APITimeoutError):
                on_result(index, Generation(error=f"timeout after {attempts} attempts", retries=attempts - 1))
                return
            raise GeneratorError(
                f"lost the server at {client.base_url} after {attempts} attempts: start it again and rerun the "
                "same command; every answer received so far is cached and will not be paid again"
            ) from None
        except Exception as exc:  # noqa: BLE001 (unrecoverable for this request only: the stage records it)
            message = redact_secrets(" ".join(f"{type(exc).__name__}: {exc}".split()))
            on_result(index, Generation(error=message[:500], retries=attempts - 1))

    async def _call(self, client: openai.AsyncOpenAI, req: GenerationRequest) -> Generation:
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
        started = time.monotonic()
        try:
            if req.prompt is not None:
                resp = await client.completions.create(prompt=req.prompt, **kwargs)
                choice = resp.choices[0] if resp.choices else None
                text = getattr(choice, "text", None)
            else:
                resp = await client.chat.completions.create(messages=req.message_dicts(), **kwargs)
                choice = resp.choices[0] if resp.choices else None
                text = choice.message.content if choice is not None and choice.message is not None else None
        except openai.RateLimitError:
            self.limiter.on_throttle(started)
            raise
        finally:
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
