"""The self_instruct stage (placeholder until its issue lands: passes records through unchanged)."""

from __future__ import annotations

from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig


class SelfInstructConfig(StageConfig):
    pass


class SelfInstructStage(Stage):
    name = "self_instruct"
    config_cls = SelfInstructConfig

    def run(self, records: list[Record]) -> StageResult:
        return StageResult(kept=list(records))
