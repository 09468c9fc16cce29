"""Local and Ray executors give identical kept ids and identical rejections for every CPU stage."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.dedup.planted import planted_corpus
from pipeline.executors import Executor, LocalExecutor
from pipeline.readers import read_records
from pipeline.records import Message, Record, StageResult
from pipeline.runner import Runner
from pipeline.stages.base import Stage, StageContext
from pipeline.stages.dedup import DecontaminationConfig, DedupConfig, DedupStage
from pipeline.stages.format import FormatConfig, FormatStage
from pipeline.stages.quality import QualityConfig, QualityStage

SEEDS = "seeds/seed_tasks.jsonl"
EVAL_ITEM = ("Write a short poem about the quiet of a snowy forest at dawn, when the first light "
             "touches the branches and nothing moves at all")


def _corpus() -> list[Record]:
    """Seeds, planted near duplicates (light edits and one template cluster), a contaminated record,
    and one victim per quality filter kind."""
    seeds = read_records(SEEDS)
    texts, _ = planted_corpus(320, seed=3, large=(40,))
    answers = [s.output for s in seeds if s.output]
    planted = [Record(instruction=t, output=answers[i % len(answers)]) for i, t in enumerate(texts)]
    victims = [
        Record(instruction="Name a fruit.", output=""),
        Record(instruction="Explain tides.", output="As an AI language model, I cannot explain tides."),
        Record(instruction="Explain tides.", output="Tides come from the Moon.", meta={"finish_reason": "length"}),
        Record(instruction="Décris la marée.", output="La marée est causée par l'attraction de la Lune et du "
                                                       "Soleil sur les océans de la Terre."),
        Record(instruction=EVAL_ITEM.upper() + ".", output="Snow falls softly on the pines."),
        Record(instruction="Continue the chat.", messages=[Message(role="user", content="Hi there")]),
        Record(instruction="Tell me a long story.", output="word " * 900),
    ]
    return seeds + planted + victims


def _run(stage_cls: type[Stage], config, records: list[Record], executor: Executor) -> StageResult:
    return stage_cls(config, StageContext(seed=1, executor=executor)).run(records)


def _rejections(result: StageResult) -> list[tuple]:
    return [(r.record.id, r.reason, json.dumps(r.value), json.dumps(r.detail, sort_keys=True, default=str))
            for r in result.rejected]


def _same(local: StageResult, ray: StageResult) -> None:
    assert [r.id for r in ray.kept] == [r.id for r in local.kept]
    assert [r.meta for r in ray.kept] == [r.meta for r in local.kept]
    assert _rejections(ray) == _rejections(local)


def test_dedup_and_decontamination_match(ray_executor, tmp_path: Path) -> None:
    evals = tmp_path / "eval.jsonl"
    evals.write_text(json.dumps({"instruction": EVAL_ITEM, "output": "A poem."}) + "\n")
    records = _corpus()
    config = DedupConfig(workers=2, decontamination=DecontaminationConfig(eval_paths=[str(evals)]))
    local = _run(DedupStage, config, records, LocalExecutor())
    ray = _run(DedupStage, config, records, ray_executor)
    reasons = {r.reason for r in local.rejected}
    assert {"near_duplicate", "exact_duplicate", "contaminated_ngram"} <= reasons
    assert sum(r.reason == "near_duplicate" for r in local.rejected) >= 20
    _same(local, ray)


def test_quality_matches(ray_executor) -> None:
    records = _corpus()
    config = QualityConfig(num_proc=2)
    local = _run(QualityStage, config, records, LocalExecutor(min_parallel=1))
    ray = _run(QualityStage, config, records, ray_executor)
    assert {"empty_output", "refusal_phrase", "finish_reason_length"} <= {r.reason for r in local.rejected}
    _same(local, ray)
    assert ray.stats["filters"] == local.stats["filters"]


def test_format_matches(ray_executor) -> None:
    records = _corpus()
    config = FormatConfig(max_tokens=512, exports=["alpaca_jsonl", "text"])
    local_stage = FormatStage(config, StageContext(seed=1, executor=LocalExecutor()))
    ray_stage = FormatStage(config, StageContext(seed=1, executor=ray_executor))
    local, ray = local_stage.run(records), ray_stage.run(records)
    assert {"too_many_tokens"} <= {r.reason for r in local.rejected}
    _same(local, ray)
    assert ray_stage._texts == local_stage._texts


def test_runner_with_executor_ray_writes_the_same_run(ray_executor, make_config, tmp_path: Path) -> None:
    """`executor: ray` through the runner: same kept/rejected files and no rerun when switching back."""
    files = {}
    for name in ("local", "ray"):
        cfg = make_config(None, f"run_name={name}", f"executor={name}", "self_instruct.enabled=false",
                          "evol_instruct.enabled=false", "report=false", "format.exports=[alpaca_jsonl]")
        Runner(cfg).run(stages=["seeds", "dedup", "quality", "format"])
        stages = cfg.run_dir / "stages"
        files[name] = {p.relative_to(stages).as_posix(): p.read_bytes() for p in sorted(stages.rglob("*.jsonl"))}
    assert files["ray"] == files["local"] and any("quality" in k for k in files["local"])
    switched = make_config(None, "run_name=ray", "executor=local", "self_instruct.enabled=false",
                           "evol_instruct.enabled=false", "report=false", "format.exports=[alpaca_jsonl]")
    summary = Runner(switched).run(stages=["seeds", "dedup", "quality", "format"])
    assert {s.name: s.status for s in summary.stages}["quality"] == "unchanged"
