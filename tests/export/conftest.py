"""Small records covering every shape the exports must handle, and a run root with a manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.records import Message, Record


def sample_records() -> list[Record]:
    records = [
        Record(instruction=f"Name a fruit that is {c}.", output=f"A {c} fruit is the {f}.", stage="self_instruct",
               meta={"model": "gen-model-a", "lang": "en"})
        for c, f in [("red", "strawberry"), ("yellow", "banana"), ("green", "lime"), ("orange", "orange")]
    ]
    records += [
        Record(instruction="Summarize the text.", input=f"Text number {i} says that cats sleep a lot.",
               output=f"Cats sleep a lot (text {i}).", stage="evol_instruct",
               meta={"model": "gen-model-b", "lang": "en", "evol": {"depth": 1, "op": "deepening"}})
        for i in range(5)
    ]
    records.append(Record(messages=[
        Message(role="user", content="What is 2 + 2?"), Message(role="assistant", content="4."),
        Message(role="user", content="And times 3?"), Message(role="assistant", content="12."),
    ], stage="seeds", meta={"lang": "en"}))
    records.append(Record(messages=[
        Message(role="system", content="You answer in French."), Message(role="user", content="Say hello."),
        Message(role="assistant", content="Bonjour."),
    ], stage="seeds", meta={"lang": "fr"}))
    return records


@pytest.fixture
def records() -> list[Record]:
    return sample_records()


def write_manifest(run_root: Path) -> None:
    run_root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "run_name": "tiny", "config_hash": "cafe0123", "pipeline_version": "0.1.0",
        "created_at": "2025-01-01T00:00:00+00:00",
        "stages": {
            "seeds": {"status": "done", "counts": {"in": 0, "kept": 6, "rejected": 0}, "rejections_by_reason": {}},
            "self_instruct": {"status": "done", "counts": {"in": 6, "kept": 12, "rejected": 3},
                              "rejections_by_reason": {"rouge_l_too_similar": 3},
                              "usage": {"total": {"requests": 20, "cached": 2, "prompt_tokens": 5000,
                                                  "completion_tokens": 1200}}},
        },
        "totals": {"requests": 20, "cached": 2, "prompt_tokens": 5000, "completion_tokens": 1200,
                   "estimated_cost_usd": 0.0123},
    }
    (run_root / "manifest.json").write_text(json.dumps(manifest))
    (run_root / "config.yaml").write_text("generator:\n  model: gen-model-a\n")


ALL_EXPORTS = ["alpaca_json", "alpaca_jsonl", "sharegpt", "openai", "parquet", "hf_disk", "text"]


@pytest.fixture(scope="module")
def export_run(tmp_path_factory: pytest.TempPathFactory):
    """The format stage run once over the sample records with every export, written to a run root."""
    from pipeline.stages.base import StageContext
    from pipeline.stages.format import FormatConfig, FormatStage

    run_root = tmp_path_factory.mktemp("run")
    write_manifest(run_root)
    config = FormatConfig(exports=ALL_EXPORTS, system_prompt="You are a helpful assistant.",
                          validation_ratio=0.25)
    stage = FormatStage(config, StageContext(seed=7))
    result = stage.run(sample_records())
    stage.write_artifacts(result, run_root)
    return run_root, result
