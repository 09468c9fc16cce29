"""Runs the configured filters over records, in order, across a process pool, keeping record order."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

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


_WORKER_FILTERS: list[QualityFilter] = []


def _init_worker(config: Any) -> None:
    _WORKER_FILTERS[:] = build_filters(config)


def _run_chunk(records: list[Record]) -> list[Outcome]:
    return [apply_filters(_WORKER_FILTERS, r) for r in records]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_filters(records: list[Record], config: Any, num_proc: int | None = None, chunk_size: int | None = None,
                min_parallel: int = 200) -> list[Outcome]:
    """One Outcome per record, in input order. Work is split into chunks over `num_proc` processes (all
    cores when None); small inputs stay in this process, where a pool would cost more than it saves."""
    procs = max(1, min(num_proc or available_cores(), len(records)))
    if procs == 1 or len(records) < min_parallel:
        filters = build_filters(config)
        return [apply_filters(filters, r) for r in records]
    # About 8 chunks per process evens out chunks that hit the slow filter more often than others.
    size = chunk_size or max(16, -(-len(records) // (procs * 8)))
    chunks = [records[i:i + size] for i in range(0, len(records), size)]
    # fork starts workers in milliseconds and shares the loaded language profiles; spawn elsewhere.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(procs, mp_context=context, initializer=_init_worker, initargs=(config,)) as pool:
        return [outcome for chunk in pool.map(_run_chunk, chunks) for outcome in chunk]
