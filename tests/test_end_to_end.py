"""The whole pipeline through the CLI against our local OpenAI-compatible server, then a rerun that pays
for nothing."""

from __future__ import annotations

import json

from pipeline.cli import main
from pipeline.export.validator import validate_file

SMALL = ["--set", "self_instruct.target_tasks=12", "--set", "evol_instruct.rounds=2",
         "--set", "evol_instruct.max_roots=12", "--set", "quality.judge.enabled=true",
         "--set", "format.exports=[openai,sharegpt,alpaca_jsonl,parquet,hf_disk]"]


def test_full_run_then_rerun_sends_no_request(fake_server, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["run", "--config", str(_example_config()), "--base-url", fake_server.base_url,
            "--model", "test-model", "--output-dir", str(tmp_path / "out"), "--run-name", "e2e", *SMALL]
    assert main(argv) == 0
    run = tmp_path / "out" / "e2e"
    manifest = json.loads((run / "manifest.json").read_text())
    stages = manifest["stages"]
    assert [n for n, s in stages.items() if s["status"] == "done"] == \
        ["seeds", "self_instruct", "evol_instruct", "dedup", "quality", "format"]
    assert stages["self_instruct"]["stats"]["accepted_tasks"] >= 12
    assert stages["evol_instruct"]["stats"]["evolved"] > 0
    for name, entry in stages.items():
        counts = entry["counts"]
        kept = run / "stages" / f"{list(stages).index(name):02d}_{name}" / "kept.jsonl"
        assert sum(1 for _ in kept.open()) == counts["kept"]
    assert manifest["totals"]["requests"] > 0 and manifest["totals"]["failed"] == 0
    requests_paid = fake_server.request_count
    assert requests_paid == manifest["totals"]["requests"] - manifest["totals"]["cached"]

    export = run / "export"
    for fmt in ("openai", "sharegpt", "alpaca"):
        train = export / fmt / "train.jsonl"
        assert train.exists() and validate_file(train).problems == [], fmt
    assert (export / "README.md").exists() and (run / "report.html").exists()

    capsys.readouterr()
    assert main(argv) == 0
    assert fake_server.request_count == requests_paid
    again = json.loads((run / "manifest.json").read_text())
    assert again["stages"]["format"]["kept_sha256"] == stages["format"]["kept_sha256"]


def _example_config():
    from pipeline import PROJECT_ROOT

    return PROJECT_ROOT / "configs" / "example.yaml"
