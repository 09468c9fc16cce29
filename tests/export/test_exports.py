"""Every export written from a small run passes our validator and loads with `datasets`."""

from __future__ import annotations

import json

import pytest

from pipeline.export.validator import validate_file

JSON_FILES = [f"{folder}/{split}.{ext}" for folder, ext in
              [("openai", "jsonl"), ("sharegpt", "jsonl"), ("alpaca", "jsonl"), ("alpaca", "json"), ("text", "jsonl")]
              for split in ("train", "validation")]


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("rel", JSON_FILES)
def test_every_export_passes_the_validator(export_run, rel):
    run_root, result = export_run
    report = validate_file(run_root / "export" / rel)
    assert report.problems == []
    assert report.examples == sum(1 for r in result.kept if r.meta["split"] == rel.split("/")[1].split(".")[0])


@pytest.mark.parametrize("folder,ext", [("openai", "jsonl"), ("sharegpt", "jsonl"), ("alpaca", "jsonl"),
                                        ("alpaca", "json"), ("text", "jsonl")])
def test_json_exports_load_with_datasets(export_run, folder, ext):
    from datasets import load_dataset

    run_root, result = export_run
    files = {s: str(run_root / "export" / folder / f"{s}.{ext}") for s in ("train", "validation")}
    ds = load_dataset("json", data_files=files)
    assert ds["train"].num_rows + ds["validation"].num_rows == len(result.kept) == 11
    assert ds["validation"].num_rows == 3  # 25% of 11, rounded half up


def test_parquet_and_save_to_disk_load(export_run):
    from datasets import load_dataset, load_from_disk

    run_root, _ = export_run
    export = run_root / "export"
    pq = load_dataset("parquet", data_files={s: str(export / "parquet" / f"{s}.parquet")
                                             for s in ("train", "validation")})
    disk = load_from_disk(str(export / "hf"))
    assert set(disk) == {"train", "validation"}
    assert disk["train"].num_rows == pq["train"].num_rows == 8
    assert set(disk["train"].column_names) == {"id", "messages", "instruction", "input", "output",
                                                "source_stage", "text"}
    row = disk["train"][0]
    assert row["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}
    assert row["text"].startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")


def test_multi_turn_exports_stay_multi_turn(export_run):
    run_root, _ = export_run
    export = run_root / "export"
    rows = [r for s in ("train", "validation") for r in _lines(export / "openai" / f"{s}.jsonl")]
    multi = next(r for r in rows if any(m["content"] == "And times 3?" for m in r["messages"]))
    assert [m["role"] for m in multi["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    share = [r for s in ("train", "validation") for r in _lines(export / "sharegpt" / f"{s}.jsonl")]
    multi = next(r for r in share if any(t["value"] == "And times 3?" for t in r["conversations"]))
    assert [t["from"] for t in multi["conversations"]] == ["system", "human", "gpt", "human", "gpt"]
    alpaca = [r for s in ("train", "validation") for r in _lines(export / "alpaca" / f"{s}.jsonl")]
    multi = next(r for r in alpaca if r["instruction"] == "And times 3?")
    assert multi["history"] == [["What is 2 + 2?", "4."]] and multi["output"] == "12."
    # A record's own system message wins over the configured system prompt.
    french = next(r for r in rows if r["messages"][1]["content"] == "Say hello.")
    assert french["messages"][0]["content"] == "You answer in French."


def test_single_turn_alpaca_keeps_input_separate(export_run):
    run_root, _ = export_run
    rows = [r for s in ("train", "validation") for r in _lines(run_root / "export" / "alpaca" / f"{s}.jsonl")]
    summary = next(r for r in rows if r["input"].startswith("Text number 0"))
    assert summary["instruction"] == "Summarize the text." and summary["output"] == "Cats sleep a lot (text 0)."
    openai = [r for s in ("train", "validation") for r in _lines(run_root / "export" / "openai" / f"{s}.jsonl")]
    user = next(r["messages"][1]["content"] for r in openai if "Text number 0" in r["messages"][1]["content"])
    assert user == "Summarize the text.\n\nText number 0 says that cats sleep a lot."


def test_exports_json_lists_every_file_and_no_temp_folder_is_left(export_run):
    run_root, result = export_run
    summary = json.loads((run_root / "export" / "exports.json").read_text())
    assert summary["splits"] == {"train": 8, "validation": 3}
    assert summary["files"]["openai/train.jsonl"]["rows"] == 8
    assert [p.name for p in run_root.iterdir() if p.name.startswith(".export")] == []
    assert result.stats["export"]["push_to_hub"] == "not requested"


def test_rewrite_replaces_the_export_folder(tmp_path, records):
    from pipeline.stages.base import StageContext
    from pipeline.stages.format import FormatConfig, FormatStage

    stage = FormatStage(FormatConfig(exports=["openai", "sharegpt"]), StageContext(seed=0))
    result = stage.run(records)
    stage.write_artifacts(result, tmp_path)
    assert (tmp_path / "export" / "sharegpt" / "train.jsonl").exists()
    stage = FormatStage(FormatConfig(exports=["openai"]), StageContext(seed=0))
    stage.write_artifacts(stage.run(records), tmp_path)
    assert not (tmp_path / "export" / "sharegpt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_push_to_hub_is_skipped_offline(tmp_path, records, monkeypatch):
    from pipeline.stages.base import StageContext
    from pipeline.stages.format import FormatConfig, FormatStage

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    stage = FormatStage(FormatConfig(exports=["openai"], push_to_hub="someone/tiny"), StageContext(seed=0))
    result = stage.run(records)
    stage.write_artifacts(result, tmp_path)
    assert result.stats["export"]["push_to_hub"] == "skipped: offline (HF_HUB_OFFLINE=1)"


def test_no_records_writes_only_the_card(tmp_path):
    from pipeline.stages.base import StageContext
    from pipeline.stages.format import FormatConfig, FormatStage

    stage = FormatStage(FormatConfig(), StageContext(seed=0))
    result = stage.run([])
    stage.write_artifacts(result, tmp_path)
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["README.md", "exports.json"]
