"""--dry-run: prompts of each model stage's first batch, request/token/cost estimate, nothing sent or written."""

from __future__ import annotations

import hashlib

from pipeline.cli import main
from pipeline.generators.dry_run import DryRunBackend, estimate_prompt_tokens
from pipeline.generators.openai_backend import OpenAIBackend
from pipeline.runner import Runner
from pipeline.testing.fake_server import FakeOpenAIServer

PRICES = "generator.prices={test-model: {input_per_mtok: 1.0, output_per_mtok: 2.0}}"


def _snapshot(root):
    return {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def test_dry_run_prints_first_batch_and_estimates_without_sending(local_pipeline, make_config, tmp_path, capsys):
    with FakeOpenAIServer() as srv:
        base = ["run", "--set", f"generator.base_url={srv.base_url}", "--set", "generator.model=test-model",
                "--set", f"seeds.paths=[{local_pipeline}]", "--set", PRICES, "--output-dir", str(tmp_path / "o")]
        assert main(base + ["--dry-run"]) == 0
        captured = capsys.readouterr()
        assert srv.request_count == 0 and not (tmp_path / "o").exists()
        out = captured.out
        assert "===== self_instruct: first batch, 8 prompts =====" in out
        assert "===== evol_instruct: first batch, 24 prompts =====" in out
        assert out.count("----- self_instruct prompt ") == 8
        assert ("----- self_instruct prompt 1/8 -----\n[user]\nWrite one new task unlike these.\n"
                "Task A: Describe the history of invention number 0 briefly.\n") in out
        assert "total" in captured.err and "48" in captured.err and "characters/4" in captured.err

        cfg = make_config(srv, f"seeds.paths=[{local_pipeline}]", PRICES)
        plans = Runner(cfg).dry_run().dry_run
        si, ev = plans["self_instruct"], plans["evol_instruct"]
        assert (si.batches, si.requests, si.cached, ev.batches, ev.requests) == (3, 24, 0, 1, 24)
        assert si.completion_tokens == 24 * 64 and si.completion_basis == {"max"}  # no real answers yet
        assert si.prompt_tokens > 24 * 20
        assert abs(si.cost(cfg.generator) - (si.prompt_tokens + 2 * si.completion_tokens) / 1e6) < 1e-12
        assert srv.request_count == 0 and not cfg.run_dir.exists()

        Runner(cfg).run()  # the real run makes exactly the requests the dry run counted
        assert srv.request_count == si.requests + ev.requests
        before = _snapshot(cfg.run_dir)
        again = Runner(cfg, force=True).dry_run()
        assert _snapshot(cfg.run_dir) == before and srv.request_count == 48
        plans = again.dry_run
        assert plans["self_instruct"].requests == 0 and plans["self_instruct"].cached == 24
        assert plans["evol_instruct"].cached == 24


def test_dry_run_uses_real_cache_lengths_for_completion_estimates(local_pipeline, make_config):
    with FakeOpenAIServer() as srv:
        cfg = make_config(srv, f"seeds.paths=[{local_pipeline}]")
        Runner(cfg).run(stop="self_instruct")
        # evol was never run: its requests are new, so the estimate is its max_tokens bound; self_instruct's
        # answers (forced to rerun) are cached.
        plans = Runner(cfg, force=True).dry_run().dry_run
    assert plans["self_instruct"].cached == 24 and plans["evol_instruct"].completion_basis == {"max"}


def test_dry_run_backend_matches_the_real_identity_and_estimates_tokens(make_config):
    cfg = make_config(None, "generator.base_url=http://127.0.0.1:9/v1")
    assert DryRunBackend(cfg.generator).identity() == OpenAIBackend(cfg.generator).identity()
    from pipeline.generators.base import GenerationRequest, SamplingParams

    req = GenerationRequest.chat([{"role": "system", "content": "x" * 40}, {"role": "user", "content": "y" * 41}],
                                 SamplingParams())
    assert estimate_prompt_tokens(req) == 21 + 8
    assert estimate_prompt_tokens(GenerationRequest.completion("z" * 8, SamplingParams())) == 2
