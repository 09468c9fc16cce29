"""The offline demo end to end: seeds -> tiny model -> every stage on it -> exports, report -> fine-tune."""

from __future__ import annotations

import json

from transformers import AutoModelForCausalLM

from pipeline.cli import main
from pipeline.export.validator import validate_file


def test_demo_runs_every_stage_and_both_trainings(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--out", str(tmp_path / "demo"), "--train-steps", "20"]) == 0
    run = tmp_path / "demo" / "pipeline"
    manifest = json.loads((run / "manifest.json").read_text())
    assert [n for n, s in manifest["stages"].items() if s["status"] == "done"] == \
        ["seeds", "self_instruct", "evol_instruct", "dedup", "quality", "format"]
    # The tiny model answered every model stage, the judge included, through the in-process backend.
    for stage in ("self_instruct", "evol_instruct", "quality"):
        assert manifest["stages"][stage]["usage"]["total"]["requests"] > 0, stage
    train = run / "export" / "openai" / "train.jsonl"
    assert validate_file(train).problems == []
    assert (run / "report.html").exists() and (run / "export" / "README.md").exists()
    for model in ("model-seeds", "model-final"):
        final = tmp_path / "demo" / model / "final"
        assert AutoModelForCausalLM.from_pretrained(final).config.architectures == ["LlamaForCausalLM"]
        assert (tmp_path / "demo" / model / "metrics.jsonl").exists()
    assert "poor text" in capsys.readouterr().err
