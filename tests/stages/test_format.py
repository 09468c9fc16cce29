"""The format stage: a reason for every record it cannot export, seeded stratified splits, and a full run."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from pipeline.export.validator import validate_file
from pipeline.records import Message, Record
from pipeline.runner import Runner
from pipeline.stages.base import StageContext
from pipeline.stages.format import FormatConfig, FormatStage


def _run(records, seed=0, **config):
    return FormatStage(FormatConfig(**config), StageContext(seed=seed)).run(records)


def _chat(*turns):
    return Record(messages=[Message(role=r, content=c) for r, c in turns], stage="seeds")


@pytest.mark.parametrize("record,reason,value", [
    (Record(instruction="Say hi.", output=""), "empty_output", 1),
    (Record(instruction="Say hi.", output="   "), "empty_output", 1),
    (Record(instruction="", output="Hi."), "empty_instruction", 0),
    (_chat(("user", "Hi")), "no_assistant_turn", 0),
    (_chat(("assistant", "Hi"), ("user", "Yo"), ("assistant", "Ok")), "turns_not_alternating", "a,u,a"),
    (_chat(("user", "Hi"), ("assistant", "Yo"), ("user", "More?")), "last_turn_not_assistant", "user"),
    (_chat(("user", "Hi"), ("tool", "{}"), ("assistant", "Ok")), "unsupported_role", "tool"),
    (_chat(("system", " "), ("user", "Hi"), ("assistant", "Ok")), "empty_system_prompt", 0),
    (_chat(("user", "Hi"), ("assistant", "")), "empty_output", 1),
])
def test_each_rejection_reason(record, reason, value):
    result = _run([record])
    assert result.kept == []
    assert [(r.reason, r.value, r.stage) for r in result.rejected] == [(reason, value, "format")]


def test_too_many_tokens_is_rejected_with_the_estimate():
    result = _run([Record(instruction="Write.", output="word " * 100)], max_tokens=50)
    assert [(r.reason, r.value, r.detail) for r in result.rejected] == [("too_many_tokens", 136, {"limit": 50})]  # 3 + (3+2) + (3+125)


def test_chat_template_failure_rejects_only_that_record(tmp_path):
    template = tmp_path / "picky.j2"
    template.write_text("{% for m in messages %}{% if 'forbidden' in m['content'] %}"
                        "{{ raise_exception('no forbidden words') }}{% endif %}{{ m['content'] }}\n{% endfor %}")
    records = [Record(instruction="A forbidden task.", output="Ok."), Record(instruction="Fine.", output="Ok.")]
    result = _run(records, chat_template=str(template))
    assert [(r.reason, r.value) for r in result.rejected] == [("chat_template_failed",
                                                               "chat template failed: no forbidden words")]
    assert len(result.kept) == 1


def test_kept_records_get_split_and_source_stage_and_keep_their_id():
    records = [Record(instruction=f"Task {i}", output=f"Answer {i}", stage="self_instruct") for i in range(30)]
    records += [Record(instruction=f"Hard task {i}", output=f"Hard answer {i}", stage="quality",
                       meta={"evol": {"depth": 2}}) for i in range(10)]
    result = _run(records, validation_ratio=0.1)
    assert [r.id for r in result.kept] == [r.id for r in records]
    assert {r.meta["source_stage"] for r in result.kept} == {"self_instruct", "evol_instruct"}
    assert result.stats["splits"] == {"train": 36, "validation": 4}
    assert result.stats["by_source_stage"] == {"evol_instruct": {"train": 9, "validation": 1},
                                               "self_instruct": {"train": 27, "validation": 3}}
    again = _run(records, validation_ratio=0.1)
    other_seed = _run(records, seed=1, validation_ratio=0.1)
    assert [r.meta["split"] for r in again.kept] == [r.meta["split"] for r in result.kept]
    assert [r.meta["split"] for r in other_seed.kept] != [r.meta["split"] for r in result.kept]


def test_config_rejects_unknown_exports_and_ratios():
    with pytest.raises(ValidationError):
        FormatConfig(exports=["csv"])
    with pytest.raises(ValidationError):
        FormatConfig(validation_ratio=1.0)


def test_runner_writes_the_export_for_a_small_run(make_config, tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": f"Give a word for {w}.", "input": "",
                                         "output": f"{w.title()}."}) + "\n"
                             for w in ["joy", "rain", "speed", "calm", "light", "noise", "cold", "heat"]))
    config = make_config(None, f"seeds.paths=['{seeds}']", "self_instruct.enabled=false",
                         "evol_instruct.enabled=false", "dedup.enabled=false", "quality.enabled=false",
                         "format.validation_ratio=0.25", "format.exports=[openai,sharegpt,alpaca_jsonl,text]")
    Runner(config).run()
    export = config.run_dir / "export"
    for rel in ("openai/train.jsonl", "openai/validation.jsonl", "sharegpt/train.jsonl", "alpaca/train.jsonl",
                "text/validation.jsonl"):
        assert validate_file(export / rel).problems == [], rel
    manifest = json.loads((config.run_dir / "manifest.json").read_text())
    assert manifest["stages"]["format"]["stats"]["export"]["split_counts"] == {"train": 6, "validation": 2}
    card = (export / "README.md").read_text()
    assert f"pipeline config hash: `{config.content_hash()}`" in card
    assert "| seeds | 0 | 8 | 0 |  |" in card and "| format | 8 | 8 | 0 |  |" in card
