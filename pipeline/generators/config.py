"""Generator configuration: which backend and model, sampling defaults, transport limits, prices."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.config_base import StrictModel


class Price(StrictModel):
    """US dollars per million tokens."""

    input_per_mtok: float = Field(0.0, ge=0)
    output_per_mtok: float = Field(0.0, ge=0)


class SamplingOverrides(StrictModel):
    """Per-step sampling parameters; a field left unset falls back to the generator's default."""

    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    stop: list[str] | None = None


class GeneratorConfig(StrictModel):
    backend: Literal["openai", "transformers"] = "openai"
    model: str = "gpt-4o-mini"
    # None means api.openai.com; any OpenAI-compatible server (vLLM, Ollama, llama.cpp, `transformers serve`)
    # is used by its base URL alone, e.g. http://127.0.0.1:8000/v1.
    base_url: str | None = None
    # Several replicas of the same model: requests are spread across them.
    base_urls: list[str] = Field(default_factory=list)
    # Per replica: at most this many requests in flight (None: only `concurrency` bounds them); after
    # `endpoint_failures` connection errors or 5xx in a row a replica rests `endpoint_cooldown_s`, then one
    # real request probes it (pipeline/generators/endpoints.py).
    endpoint_concurrency: int | None = Field(None, ge=1)
    endpoint_failures: int = Field(3, ge=1)
    endpoint_cooldown_s: float = Field(30.0, ge=0)
    # The key is read from this environment variable; it is never stored in config, cache or manifest.
    api_key_env: str = "OPENAI_API_KEY"
    mode: Literal["chat", "completion"] = "chat"
    temperature: float = Field(0.7, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(1024, ge=1)
    presence_penalty: float = Field(0.0, ge=-2, le=2)
    frequency_penalty: float = Field(0.0, ge=-2, le=2)
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    concurrency: int = Field(16, ge=1, le=1024)
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(6, ge=0, le=100)
    backoff_base_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)
    # In-process transformers backend.
    model_dir: str | None = None
    device: str = "auto"
    batch_size: int = Field(8, ge=1)
    # Response cache (SQLite); None puts it in the run directory.
    cache: bool = True
    cache_path: str | None = None
    prices: dict[str, Price] = Field(default_factory=dict)

    def identity(self) -> dict:
        """What decides the content of a response: fingerprints include this, transport settings do not."""
        return self.model_dump(
            include={"backend", "model", "mode", "temperature", "top_p", "max_tokens", "presence_penalty",
                     "frequency_penalty", "stop", "seed", "model_dir"}
        )
