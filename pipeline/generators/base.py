"""The generator interface: requests in, generations out, in order; backends only move bytes."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 1024
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class GenerationRequest:
    """One model call: chat `messages` or a raw completion `prompt`, and its sampling parameters.

    `sample_index` tells apart repeated samples of the same prompt (each is cached on its own);
    `tag` names the step (e.g. "self_instruct.bootstrap") for accounting only.
    """

    messages: tuple[tuple[str, str], ...] | None = None
    prompt: str | None = None
    params: SamplingParams = field(default_factory=SamplingParams)
    sample_index: int = 0
    tag: str = ""

    @staticmethod
    def chat(messages: list[dict[str, str]], params: SamplingParams, *, tag: str = "",
             sample_index: int = 0) -> GenerationRequest:
        return GenerationRequest(
            messages=tuple((m["role"], m["content"]) for m in messages),
            params=params, tag=tag, sample_index=sample_index,
        )

    @staticmethod
    def completion(prompt: str, params: SamplingParams, *, tag: str = "", sample_index: int = 0
                   ) -> GenerationRequest:
        return GenerationRequest(prompt=prompt, params=params, tag=tag, sample_index=sample_index)

    def message_dicts(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages or ()]

    def prompt_text(self) -> str:
        """The prompt as one string (chat messages joined), for logs and dry runs."""
        if self.prompt is not None:
            return self.prompt
        return "\n\n".join(f"[{r}]\n{c}" for r, c in self.messages or ())

    def cache_key(self, backend_identity: dict[str, Any]) -> str:
        payload = {
            "backend": backend_identity,
            "messages": self.messages,
            "prompt": self.prompt,
            "params": asdict(self.params),
            "sample_index": self.sample_index,
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=list).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


@dataclass
class Generation:
    """A model's answer. `error` is set (and `text` empty) when the call failed for good."""

    text: str = ""
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    cached: bool = False
    retries: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


ResultCallback = Callable[[int, Generation], None]


class Backend(ABC):
    """Transport to one kind of model. Implementations must call `on_result` once per request,
    as soon as that answer arrives, so that the caller can persist it before anything else happens."""

    name: str = "backend"

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What makes responses of this backend differ (never secrets)."""

    @abstractmethod
    def generate_batch(self, requests: list[GenerationRequest], on_result: ResultCallback) -> None:
        """Answer every request; failures after retries come back as Generation(error=...)."""

    def concurrency_level(self) -> int:
        return 1

    def close(self) -> None:
        return None
