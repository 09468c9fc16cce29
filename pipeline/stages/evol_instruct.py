"""The evol_instruct stage (placeholder until its issue lands: passes records through unchanged)."""

from __future__ import annotations

from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig


class EvolInstructConfig(StageConfig):
    pass


class EvolInstructStage(Stage):
    name = "evol_instruct"
    config_cls = EvolInstructConfig

    def run(self, records: list[Record]) -> StageResult:
        return StageResult(kept=list(records))
