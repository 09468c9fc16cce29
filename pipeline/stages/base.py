"""What every stage is: a name, a config section, and `run(records) -> StageResult`."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.config_base import StrictModel
from pipeline.records import Record, StageResult

if TYPE_CHECKING:
    from pipeline.executors import Executor
    from pipeline.generators.config import GeneratorConfig
    from pipeline.generators.generator import Generator


class StageConfig(StrictModel):
    enabled: bool = True


@dataclass
class StageContext:
    """What the runner hands a stage: never the run directory, only what it needs to compute."""

    seed: int = 0
    generator: Generator | None = None
    generator_config: GeneratorConfig | None = None
    # Records of the seeds stage, for stages that compare against them (dedup reference, ROUGE to seeds).
    seed_records: list[Record] = field(default_factory=list)
    prompts_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Where per-batch CPU work runs (pipeline/executors/); None: this machine, see `executor_of`.
    executor: Executor | None = None

    def rng(self, stage_name: str) -> random.Random:
        """A random generator seeded by the run seed and the stage, so reruns draw the same samples."""
        return random.Random(f"{self.seed}:{stage_name}")


class Stage(ABC):
    name: ClassVar[str]
    config_cls: ClassVar[type[StageConfig]] = StageConfig
    uses_generator: ClassVar[bool] = False

    def __init__(self, config: StageConfig, context: StageContext):
        self.config = config
        self.context = context

    @property
    def generator(self) -> Generator:
        if self.context.generator is None:
            raise RuntimeError(f"stage {self.name} needs a generator but none was given")
        return self.context.generator

    @abstractmethod
    def run(self, records: list[Record]) -> StageResult:
        """Kept records, rejections with reasons, and counters for the manifest."""


def executor_of(context: StageContext) -> Executor:
    """The context's executor, or the local one when none was set (tests, direct use of a stage)."""
    from pipeline.executors import LocalExecutor

    return context.executor if context.executor is not None else LocalExecutor()
