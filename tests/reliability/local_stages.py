"""Small deterministic generating stages for the reliability tests that need a stage to misbehave or a fixed
request count (loss check, bad inputs, secrets, --sequential); the fault, crash and dry-run tests run the
real stages (real_stages.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline.generators.base import GenerationRequest
from pipeline.generators.factory import sampling
from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage
from pipeline.stages.seeds import SeedsStage

SEEDS = [
    {"id": f"t{i}", "name": f"n{i}", "instruction": f"Describe the history of invention number {i} briefly.",
     "instances": [{"input": "", "output": f"Invention {i} has a long history."}], "is_classification": False}
    for i in range(8)
]


def write_seeds(folder: Path, n: int = 8) -> Path:
    path = folder / "seeds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in SEEDS[:n]))
    return path


class LocalSelfInstruct(Stage):
    """Per seed, `per_seed` requests for a new task from that seed and one drawn at random, in rounds."""

    name = "self_instruct"
    uses_generator = True
    per_seed = int(os.environ.get("RELIABILITY_PER_SEED", "3"))
    round_size = 8

    def run(self, records: list[Record]) -> StageResult:
        rng = self.context.rng(self.name)
        params = sampling(self.context.generator_config, max_tokens=64)
        work = []
        for rec in records:
            for k in range(self.per_seed):
                other = rng.choice(records)
                text = f"Write one new task unlike these.\nTask A: {rec.instruction}\nTask B: {other.instruction}"
                work.append((rec, GenerationRequest.chat([{"role": "user", "content": text}], params,
                                                         tag="self_instruct.generate", sample_index=k)))
        result = StageResult()
        for start in range(0, len(work), self.round_size):
            chunk = work[start:start + self.round_size]
            gens = self.generator.generate([req for _, req in chunk], desc="self-instruct")
            for (parent, _), gen in zip(chunk, gens):
                if not gen.ok:
                    result.reject(parent, self.name, "generation_failed", gen.error)
                elif gen.truncated:
                    result.reject(parent, self.name, "truncated_output", gen.completion_tokens)
                else:
                    result.kept.append(parent.derive(self.name, instruction=gen.text.strip(), output=""))
        result.stats = {"rounds": (len(work) + self.round_size - 1) // self.round_size}
        return result


class LocalEvol(Stage):
    """One rewrite request per record, all in one batch."""

    name = "evol_instruct"
    uses_generator = True

    def run(self, records: list[Record]) -> StageResult:
        params = sampling(self.context.generator_config, max_tokens=64)
        reqs = [GenerationRequest.chat([{"role": "user", "content": f"Make this task harder:\n{r.instruction}"}],
                                       params, tag="evol_instruct.deepen") for r in records]
        result = StageResult()
        for rec, gen in zip(records, self.generator.generate(reqs, desc="evol")):
            if not gen.ok:
                result.reject(rec, self.name, "generation_failed", gen.error)
            elif gen.truncated:
                result.reject(rec, self.name, "truncated_output", gen.completion_tokens)
            else:
                result.kept.append(rec.derive(self.name, instruction=gen.text.strip(), lineage=["deepen"]))
        return result


LOCAL_STAGES = [SeedsStage, LocalSelfInstruct, LocalEvol]


def install(stages: list | None = None, monkeypatch=None) -> None:
    """Make the runner run `stages` (default: seeds + the two local generating stages)."""
    import pipeline.runner as runner_mod

    stages = stages or LOCAL_STAGES
    names = [s.name for s in stages]
    if monkeypatch is not None:
        monkeypatch.setattr(runner_mod, "STAGES", stages)
        monkeypatch.setattr(runner_mod, "STAGE_NAMES", names)
    else:
        runner_mod.STAGES, runner_mod.STAGE_NAMES = stages, names
