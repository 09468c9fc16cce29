"""The quality stage (placeholder until its issue lands: passes records through unchanged)."""

from __future__ import annotations

from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig


class QualityConfig(StageConfig):
    pass


class QualityStage(Stage):
    name = "quality"
    config_cls = QualityConfig

    def run(self, records: list[Record]) -> StageResult:
        return StageResult(kept=list(records))
