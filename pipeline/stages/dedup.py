"""The dedup stage (placeholder until its issue lands: passes records through unchanged)."""

from __future__ import annotations

from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig


class DedupConfig(StageConfig):
    pass


class DedupStage(Stage):
    name = "dedup"
    config_cls = DedupConfig

    def run(self, records: list[Record]) -> StageResult:
        return StageResult(kept=list(records))
