"""Runs the configured filters over records, in order, in batches on an executor, keeping record order."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pipeline.executors import Executor, LocalExecutor
from pipeline.executors.local import available_cores
from pipeline.quality.base import QualityFilter
from pipeline.quality.blacklist import BlacklistFilter
from pipeline.quality.copying import CopyFilter
from pipeline.quality.encoding import EncodingFilter
from pipeline.quality.language import LanguageFilter
from pipeline.quality.length import EmptyOutputFilter, LengthFilter
from pipeline.quality.refusal import RefusalFilter
from pipeline.quality.repetition import RepetitionFilter
from pipeline.quality.truncation import TruncationFilter
from pipeline.records import Record

__all__ = ["FILTERS", "Outcome", "available_cores", "build_filters", "filter_batch", "run_filters"]

# Config attribute -> filter class, cheapest first; language identification, the slow one, runs last so
# it sees only records every other filter kept.
FILTERS: dict[str, type] = {
    "empty_output": EmptyOutputFilter,
    "encoding": EncodingFilter,
    "length": LengthFilter,
    "truncation": TruncationFilter,
    "copying": CopyFilter,
    "refusal": RefusalFilter,
    "blacklist": BlacklistFilter,
    "repetition": RepetitionFilter,
    "language": LanguageFilter,
}


@dataclass
class Outcome:
    """One record's result: the filter that dropped it (None if kept), why, and meta for kept records."""

    filter: str | None = None
    reason: str = ""
    value: Any = None
    detail: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def build_filters(config: Any) -> list[QualityFilter]:
    """The enabled filters, in FILTERS order, each built from the same-named section of `config`."""
    return [cls(getattr(config, name)) for name, cls in FILTERS.items() if getattr(config, name).enabled]


def apply_filters(filters: list[QualityFilter], record: Record) -> Outcome:
    meta: dict[str, Any] = {}
    for f in filters:
        verdict = f.check(record)
        meta.update(verdict.meta)
        if verdict.drop is not None:
            reason, value = verdict.drop
            return Outcome(f.name, reason, value, verdict.detail, meta)
    return Outcome(meta=meta)


# Built filters per config, per process: a batch function is called once per batch, and building the
# filters (blacklists, language profiles) once per worker process rather than per batch is what pays.
_BUILT: dict[str, list[QualityFilter]] = {}


def filter_batch(config: Any, records: list[Record]) -> list[Outcome]:
    """The quality filters over one batch: the unit of work both executors schedule."""
    key = config.model_dump_json() if hasattr(config, "model_dump_json") else repr(config)
    if key not in _BUILT:
        _BUILT.clear()
        _BUILT[key] = build_filters(config)
    return [apply_filters(_BUILT[key], r) for r in records]


def run_filters(records: list[Record], config: Any, num_proc: int | None = None, chunk_size: int | None = None,
                min_parallel: int = 200, executor: Executor | None = None) -> list[Outcome]:
    """One Outcome per record, in input order. Batches run on `executor` (default: local, over
    `num_proc` processes, all cores when None; small inputs stay in this process)."""
    executor = executor or LocalExecutor(min_parallel=min_parallel)
    return executor.map_batches(partial(filter_batch, config), records, batch_size=chunk_size, workers=num_proc)
