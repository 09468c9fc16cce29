"""The dataset card has a Hugging Face YAML header and the run's provenance."""

from __future__ import annotations

import yaml

from pipeline.export.card import size_category


def _header_and_body(text):
    assert text.startswith("---\n")
    _, header, body = text.split("---\n", 2)
    return yaml.safe_load(header), body


def test_card_yaml_header(export_run):
    run_root, _ = export_run
    header, _ = _header_and_body((run_root / "export" / "README.md").read_text())
    assert header["license"] == "other"
    assert header["task_categories"] == ["text-generation", "question-answering"]
    assert header["size_categories"] == ["n<1K"]
    assert header["language"] == ["en", "fr"]
    assert header["pretty_name"] == "tiny"
    configs = {c["config_name"]: c for c in header["configs"]}
    assert set(configs) == {"openai", "sharegpt", "alpaca_jsonl", "alpaca_json", "text", "parquet"}
    assert configs["parquet"]["default"] is True
    assert configs["openai"]["data_files"] == [{"split": "train", "path": "openai/train.jsonl"},
                                               {"split": "validation", "path": "openai/validation.jsonl"}]
    for config in configs.values():
        for entry in config["data_files"]:
            assert (run_root / "export" / entry["path"]).is_file()


def test_card_provenance(export_run):
    run_root, _ = export_run
    _, body = _header_and_body((run_root / "export" / "README.md").read_text())
    assert "generator model(s): gen-model-b, gen-model-a" in body
    assert "pipeline config hash: `cafe0123`" in body
    assert "| self_instruct | 6 | 12 | 3 | rouge_l_too_similar 3 |" in body
    assert "| format | 11 | 11 | 0 |  |" in body
    assert "| **total** | 20 | 2 | 5,000 | 1,200 |" in body
    assert "Estimated cost: $0.0123." in body
    assert "| evol_instruct |" in body and "| seeds |" in body


def test_card_license_is_configurable(tmp_path, records):
    from pipeline.stages.base import StageContext
    from pipeline.stages.format import CardConfig, FormatConfig, FormatStage

    config = FormatConfig(exports=["openai"], card=CardConfig(license="apache-2.0", language=["en"],
                                                              pretty_name="Fruit facts"))
    stage = FormatStage(config, StageContext(seed=0))
    stage.write_artifacts(stage.run(records), tmp_path)
    header, body = _header_and_body((tmp_path / "export" / "README.md").read_text())
    assert header["license"] == "apache-2.0" and header["language"] == ["en"]
    assert header["configs"][0]["default"] is True and body.lstrip().startswith("# Fruit facts")


def test_size_categories():
    assert [size_category(n) for n in (0, 999, 1000, 54_000, 2_000_000)] == \
        ["n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "1M<n<10M"]
