"""Builds the configured generator: backend, response cache and failure log."""

from __future__ import annotations

from pathlib import Path

from pipeline.generators.base import Backend, SamplingParams
from pipeline.generators.cache import ResponseCache
from pipeline.generators.config import GeneratorConfig, SamplingOverrides
from pipeline.generators.generator import Generator


def make_backend(config: GeneratorConfig) -> Backend:
    if config.backend == "transformers":
        from pipeline.generators.transformers_backend import TransformersBackend

        return TransformersBackend(config)
    from pipeline.generators.openai_backend import OpenAIBackend

    return OpenAIBackend(config)


def make_generator(config: GeneratorConfig, run_dir: Path, *, use_cache: bool = True,
                   sequential: bool = False) -> Generator:
    cache = None
    if config.cache and use_cache:
        cache = ResponseCache(Path(config.cache_path) if config.cache_path else run_dir / "cache.sqlite")
    return Generator(make_backend(config), cache=cache, failure_log=run_dir / "failed_requests.jsonl",
                     sequential=sequential)


def sampling(config: GeneratorConfig, overrides: SamplingOverrides | None = None, **fixed) -> SamplingParams:
    """Generator defaults, then a step's configured overrides, then values the step fixes itself."""
    values = {
        "temperature": config.temperature, "top_p": config.top_p, "max_tokens": config.max_tokens,
        "presence_penalty": config.presence_penalty, "frequency_penalty": config.frequency_penalty,
        "stop": tuple(config.stop), "seed": config.seed,
    }
    if overrides is not None:
        for k, v in overrides.model_dump(exclude_none=True).items():
            values[k] = tuple(v) if k == "stop" else v
    for k, v in fixed.items():
        values[k] = tuple(v) if k == "stop" else v
    return SamplingParams(**values)
