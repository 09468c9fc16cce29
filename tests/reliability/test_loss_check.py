"""No silent loss: a stage that drops records without a reason fails the run unless --allow-loss."""

from __future__ import annotations

import json
import re

from local_stages import LocalEvol, LocalSelfInstruct, install

from pipeline.cli import main
from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage
from pipeline.stages.seeds import SeedsStage
from pipeline.testing.fake_server import FakeOpenAIServer


class LeakyFilter(Stage):
    """Drops every third record and forgets to say why."""

    name = "quality"

    def run(self, records: list[Record]) -> StageResult:
        return StageResult(kept=[r for i, r in enumerate(records) if i % 3])


class ForgetfulEvol(LocalEvol):
    """Keeps the good answers and silently forgets the failed ones."""

    before = staticmethod(lambda: None)

    def run(self, records: list[Record]) -> StageResult:
        self.before()
        result = super().run(records)
        result.rejected = [r for r in result.rejected if r.reason != "generation_failed"]
        return result


def _args(srv, seeds, out):
    return ["run", "--set", f"generator.base_url={srv.base_url}", "--set", "generator.model=test-model",
            "--set", f"seeds.paths=[{seeds}]", "--set", "report=false", "--set", "generator.max_retries=0",
            "--output-dir", str(out)]


def test_filter_that_loses_records_fails_the_run(monkeypatch, tmp_path, capsys):
    from local_stages import write_seeds

    install([SeedsStage, LocalSelfInstruct, LeakyFilter], monkeypatch)
    seeds = write_seeds(tmp_path)
    with FakeOpenAIServer() as srv:
        code = main(_args(srv, seeds, tmp_path / "o"))
        err = capsys.readouterr().err
        assert code == 3
        line = next(x for x in err.splitlines() if "error" in x)
        assert "stage 'quality' lost 8 records without a recorded reason (in 24 != kept 16 + rejected 0)" in line
        assert "--allow-loss" in line and "Traceback" not in err
        # The outputs were written first: --allow-loss continues without redoing anything.
        manifest = json.loads((tmp_path / "o/run/manifest.json").read_text())
        assert manifest["stages"]["quality"]["lost"] == 8
        assert main(_args(srv, seeds, tmp_path / "o")) == 3  # still failing on rerun, not forgotten
        assert main(_args(srv, seeds, tmp_path / "o") + ["--allow-loss"]) == 0
        assert srv.request_count == 24


def test_generating_stage_that_hides_failed_requests_fails_the_run(monkeypatch, tmp_path, capsys):
    from local_stages import write_seeds

    install([SeedsStage, LocalSelfInstruct, ForgetfulEvol], monkeypatch)
    seeds = write_seeds(tmp_path)
    with FakeOpenAIServer() as srv:
        # self_instruct's 24 requests succeed, then evol's first 5 fail for good (no retries).
        monkeypatch.setattr(ForgetfulEvol, "before", staticmethod(lambda: srv.fail_next(5, 500)))
        code = main(_args(srv, seeds, tmp_path / "o"))
    err = capsys.readouterr().err
    assert code == 3
    # 5 sent requests fail; records whose request was identical to a failed one share its failure.
    lost = re.search(r"stage 'evol_instruct' lost (\d+) records", err)
    failed = re.search(r"(\d+) requests failed for good but only 0 'generation_failed' rejections", err)
    assert lost and failed and lost.group(1) == failed.group(1) and int(lost.group(1)) >= 5


def test_real_evol_records_failed_response_improvements(make_config):
    """A failed response-improvement call keeps the first answer and is still a recorded failure."""
    from real_stages import SETTINGS, stage_rows

    from pipeline.runner import Runner
    from pipeline.testing.responders import default_responder
    from pipeline.testing.responders.evol_instruct import IMPROVE_MARK

    def responder(request):
        if IMPROVE_MARK in request.prompt_text:
            raise RuntimeError("improvement step down")  # the fake server answers 500
        return default_responder(request)

    with FakeOpenAIServer(responder=responder) as srv:
        cfg = make_config(srv, *SETTINGS, "evol_instruct.evolve_responses=true", "generator.max_retries=0")
        Runner(cfg).run()  # would raise DataLossError if a failed request had no rejection
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    improve = manifest["stages"]["evol_instruct"]["usage"]["by_tag"]["evol_instruct.improve_response"]
    assert improve["requests"] == improve["failed"] > 0
    failed = [r for r in stage_rows(cfg.run_dir, "02_evol_instruct", "rejected") if r["reason"] == "generation_failed"]
    assert len(failed) == improve["failed"] and {r["detail"]["step"] for r in failed} == {"improve_response"}
    kept = {r["id"]: r for r in stage_rows(cfg.run_dir, "02_evol_instruct", "kept")}
    for rej in failed:  # the evolved instruction is kept with its first answer, unimproved
        twin = next(k for k in kept.values() if k["instruction"] == rej["record"]["instruction"])
        assert twin["output"] and "response_aspect" not in twin["meta"]["evol"] and not rej["record"]["output"]
