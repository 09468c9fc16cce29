"""The format stage (placeholder until its issue lands: passes records through unchanged)."""

from __future__ import annotations

from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig


class FormatConfig(StageConfig):
    pass


class FormatStage(Stage):
    name = "format"
    config_cls = FormatConfig

    def run(self, records: list[Record]) -> StageResult:
        return StageResult(kept=list(records))
