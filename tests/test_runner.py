"""The runner: run directory, manifest, skipping unchanged stages, slices, and never paying twice."""

from __future__ import annotations

import json

import pytest

import pipeline.runner as runner_mod
from pipeline.generators.base import GenerationRequest
from pipeline.generators.factory import sampling
from pipeline.records import Record, StageResult
from pipeline.runner import Runner
from pipeline.stages.base import Stage
from pipeline.stages.seeds import SeedsStage

SEEDS = [
    {"id": f"t{i}", "name": f"n{i}", "instruction": f"Explain topic number {i} in two sentences.",
     "instances": [{"input": "", "output": f"Topic {i} is explained here."}], "is_classification": False}
    for i in range(6)
]


class AnswerStage(Stage):
    """A minimal generating stage: asks the model to answer each instruction again."""

    name = "self_instruct"
    uses_generator = True

    def run(self, records: list[Record]) -> StageResult:
        params = sampling(self.context.generator_config)
        reqs = [GenerationRequest.chat([{"role": "user", "content": r.instruction}], params, tag="answer")
                for r in records]
        result = StageResult()
        for rec, gen in zip(records, self.generator.generate(reqs)):
            if gen.ok:
                result.kept.append(rec.derive(self.name, output=gen.text))
            else:
                result.reject(rec, self.name, "generation_failed", gen.error)
        return result


class ShortFilter(Stage):
    name = "quality"

    def run(self, records: list[Record]) -> StageResult:
        result = StageResult()
        for rec in records:
            n = len(rec.output.split())
            if n < 25:
                result.reject(rec, self.name, "output_too_short", n)
            else:
                result.kept.append(rec)
        return result


@pytest.fixture
def two_stage_pipeline(monkeypatch, tmp_path):
    stages = [SeedsStage, AnswerStage, ShortFilter]
    monkeypatch.setattr(runner_mod, "STAGES", stages)
    monkeypatch.setattr(runner_mod, "STAGE_NAMES", [s.name for s in stages])
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(r) + "\n" for r in SEEDS))
    return seeds


def test_run_writes_directory_and_rerun_sends_no_request(two_stage_pipeline, fake_server, make_config):
    cfg = make_config(fake_server, f"seeds.paths=[{two_stage_pipeline}]", "run_name=r1")
    summary = Runner(cfg).run()
    assert summary.ran == ["seeds", "self_instruct", "quality"]
    root = cfg.run_dir
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["stages"]["seeds"]["counts"] == {"in": 0, "kept": 6, "rejected": 0}
    si = manifest["stages"]["self_instruct"]
    assert si["status"] == "done" and si["usage"]["total"]["requests"] == 6
    q = manifest["stages"]["quality"]
    assert q["counts"]["kept"] + q["counts"]["rejected"] == 6
    assert set(q["rejections_by_reason"]) <= {"output_too_short"}
    assert manifest["totals"]["completion_tokens"] > 0 and "datasets" in manifest["package_versions"]
    kept = [json.loads(x) for x in (root / "stages/01_self_instruct/kept.jsonl").read_text().splitlines()]
    assert len(kept) == 6 and all(k["parent_ids"] for k in kept)
    if q["counts"]["rejected"]:
        rej = json.loads((root / "stages/02_quality/rejected.jsonl").read_text().splitlines()[0])
        assert rej["reason"] == "output_too_short" and isinstance(rej["value"], int)
    assert fake_server.request_count == 6

    again = Runner(cfg).run()
    assert again.ran == [] and fake_server.request_count == 6


def test_changed_stage_config_reruns_it_and_what_follows(two_stage_pipeline, fake_server, make_config):
    cfg = make_config(fake_server, f"seeds.paths=[{two_stage_pipeline}]")
    Runner(cfg).run()
    changed = make_config(fake_server, f"seeds.paths=[{two_stage_pipeline}]", "seeds.limit=3")
    summary = Runner(changed).run()
    assert summary.ran == ["seeds", "self_instruct", "quality"]
    assert fake_server.request_count == 6  # the 3 remaining answers come from the cache


def test_slices_and_force(two_stage_pipeline, fake_server, make_config):
    cfg = make_config(fake_server, f"seeds.paths=[{two_stage_pipeline}]")
    assert Runner(cfg).run(stop="seeds").ran == ["seeds"]
    assert Runner(cfg).run(stages=["self_instruct"]).ran == ["self_instruct"]
    assert Runner(cfg).run(start="quality").ran == ["quality"]
    assert Runner(cfg, force=True).run(stages=["quality"]).ran == ["quality"]
    assert Runner(cfg).run().ran == []


def test_slice_needing_missing_upstream_fails_clearly(two_stage_pipeline, fake_server, make_config):
    from pipeline.errors import RunDirectoryError

    cfg = make_config(fake_server, f"seeds.paths=[{two_stage_pipeline}]")
    with pytest.raises(RunDirectoryError, match="stage 'seeds' has no output yet"):
        Runner(cfg).run(stages=["quality"])


def test_half_written_stage_is_not_taken_as_done(two_stage_pipeline, fake_server, make_config):
    cfg = make_config(fake_server, f"seeds.paths=[{two_stage_pipeline}]")
    Runner(cfg).run()
    root = cfg.run_dir
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["stages"]["quality"]["status"] = "running"  # as if killed mid-stage
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert Runner(cfg).run().ran == ["quality"]
    # A kept file that does not match its recorded hash (torn or edited) also reruns the stage.
    kept = root / "stages/01_self_instruct/kept.jsonl"
    kept.write_text(kept.read_text()[:50])
    # Its answers come from the cache, so its output is identical and what follows stays valid.
    assert Runner(cfg).run().ran == ["self_instruct"]
    assert fake_server.request_count == 6
    assert not list(root.rglob("*.tmp"))


def test_disabled_stage_passes_records_through(two_stage_pipeline, fake_server, make_config):
    cfg = make_config(fake_server, f"seeds.paths=[{two_stage_pipeline}]", "self_instruct.enabled=false")
    summary = Runner(cfg).run()
    assert summary.ran == ["seeds", "quality"] and fake_server.request_count == 0
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    assert manifest["stages"]["self_instruct"] == {"status": "disabled"}
    assert manifest["stages"]["quality"]["counts"]["in"] == 6


def test_api_key_never_reaches_the_run_directory(two_stage_pipeline, make_config, monkeypatch):
    from pipeline.testing.fake_server import FakeOpenAIServer

    key = "sk-fake-KEY-for-tests-9f8e7d6c5b4a"
    monkeypatch.setenv("PIPELINE_TEST_KEY", key)
    with FakeOpenAIServer(api_key=key) as srv:
        cfg = make_config(srv, f"seeds.paths=[{two_stage_pipeline}]", "generator.api_key_env=PIPELINE_TEST_KEY")
        Runner(cfg).run()
        assert srv.paid_count == 6
    files = [p for p in cfg.run_dir.rglob("*") if p.is_file()]
    assert len(files) >= 8
    for path in files:
        assert key.encode() not in path.read_bytes(), path
