"""The one place that lists the stages and their order."""

from __future__ import annotations

from pipeline.stages.base import Stage
from pipeline.stages.dedup import DedupStage
from pipeline.stages.evol_instruct import EvolInstructStage
from pipeline.stages.format import FormatStage
from pipeline.stages.quality import QualityStage
from pipeline.stages.seeds import SeedsStage
from pipeline.stages.self_instruct import SelfInstructStage

STAGES: list[type[Stage]] = [SeedsStage, SelfInstructStage, EvolInstructStage, DedupStage, QualityStage,
                             FormatStage]
STAGE_NAMES: list[str] = [s.name for s in STAGES]


def stage_class(name: str) -> type[Stage]:
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(name)
