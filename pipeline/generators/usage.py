"""Token, request and cost accounting, per step tag."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pipeline.generators.base import Generation
from pipeline.generators.config import Price


@dataclass
class UsageCounter:
    requests: int = 0
    cached: int = 0
    failed: int = 0
    retries: int = 0
    truncated: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, gen: Generation) -> None:
        self.requests += 1
        self.retries += gen.retries
        if gen.cached:
            self.cached += 1
        if not gen.ok:
            self.failed += 1
            return
        if gen.truncated:
            self.truncated += 1
        # Cached answers cost nothing now, but their tokens still describe the dataset.
        self.prompt_tokens += gen.prompt_tokens
        self.completion_tokens += gen.completion_tokens

    def merge(self, other: UsageCounter) -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)


@dataclass
class Usage:
    """Counters per tag; `paid` counts only calls that went to the backend in this process."""

    by_tag: dict[str, UsageCounter] = field(default_factory=dict)

    def add(self, tag: str, gen: Generation) -> None:
        self.by_tag.setdefault(tag or "untagged", UsageCounter()).add(gen)

    def total(self, prefix: str = "") -> UsageCounter:
        out = UsageCounter()
        for tag, c in self.by_tag.items():
            if tag.startswith(prefix):
                out.merge(c)
        return out

    def snapshot(self, prefix: str = "") -> dict:
        return {
            "total": asdict(self.total(prefix)),
            "by_tag": {t: asdict(c) for t, c in sorted(self.by_tag.items()) if t.startswith(prefix)},
        }


def estimate_cost(prompt_tokens: int, completion_tokens: int, price: Price | None) -> float | None:
    if price is None:
        return None
    return (prompt_tokens * price.input_per_mtok + completion_tokens * price.output_per_mtok) / 1e6
