"""--dry-run of the real Self-Instruct + Evol-Instruct stages: the prompts of each model stage's first batch,
the request/token/cost estimate, nothing sent or written."""

from __future__ import annotations

import hashlib

from real_stages import SETTINGS, cli_sets

from pipeline.cli import main
from pipeline.generators.dry_run import DryRunBackend, estimate_prompt_tokens
from pipeline.generators.openai_backend import OpenAIBackend
from pipeline.runner import Runner
from pipeline.testing.fake_server import FakeOpenAIServer
from pipeline.testing.responders.self_instruct import BOOTSTRAP_PHRASE

PRICES = "generator.prices={test-model: {input_per_mtok: 1.0, output_per_mtok: 2.0}}"


def _snapshot(root):
    return {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def test_dry_run_prints_first_batch_and_estimates_without_sending(make_config, tmp_path, capsys):
    with FakeOpenAIServer() as srv:
        base = ["run", "--set", f"generator.base_url={srv.base_url}", "--set", "generator.model=test-model",
                *cli_sets(SETTINGS), "--set", PRICES, "--output-dir", str(tmp_path / "o")]
        assert main(base + ["--dry-run"]) == 0
        captured = capsys.readouterr()
        assert srv.request_count == 0 and not (tmp_path / "o").exists()
        out = captured.out
        # self_instruct's first batch is one round of bootstrap prompts; evol's is round 1's evolutions.
        assert "===== self_instruct: first batch, 4 prompts =====" in out
        assert "===== evol_instruct: first batch, 10 prompts =====" in out
        assert out.count("----- self_instruct prompt ") == 4 and out.count("----- evol_instruct prompt ") == 10
        first = out.split("----- self_instruct prompt 1/4 -----\n", 1)[1].split("-----", 1)[0]
        assert first.startswith("[user]\n") and BOOTSTRAP_PHRASE in first
        assert "total" in captured.err and "characters/4" in captured.err

        cfg = make_config(srv, *SETTINGS, PRICES)
        plans = Runner(cfg).dry_run().dry_run
        si, ev = plans["self_instruct"], plans["evol_instruct"]
        # Each round: 4 bootstrap prompts, then one classification and one instance call per accepted task
        # (12 in all, the target).
        assert si.batches % 3 == 0 and si.cached == 0 and si.requests == 4 * (si.batches // 3) + 2 * 12
        assert ev.batches == 2 * 3 and 2 * 10 <= ev.requests <= 2 * 3 * 10
        assert si.completion_basis == {"max"}  # no real answers yet: the max_tokens bound
        assert si.prompt_tokens > si.requests * 100
        assert abs(si.cost(cfg.generator) - (si.prompt_tokens + 2 * si.completion_tokens) / 1e6) < 1e-12
        assert f"{si.requests + ev.requests}" in captured.err
        assert srv.request_count == 0 and not cfg.run_dir.exists()

        Runner(cfg).run()  # the real run makes exactly the requests the dry run counted
        assert srv.request_count == si.requests + ev.requests
        before = _snapshot(cfg.run_dir)
        again = Runner(cfg, force=True).dry_run()
        assert _snapshot(cfg.run_dir) == before and srv.request_count == si.requests + ev.requests
        plans = again.dry_run
        assert plans["self_instruct"].requests == 0 and plans["self_instruct"].cached == si.requests
        assert plans["evol_instruct"].requests == 0 and plans["evol_instruct"].cached == ev.requests


def test_dry_run_uses_real_cache_lengths_for_completion_estimates(make_config):
    with FakeOpenAIServer() as srv:
        cfg = make_config(srv, *SETTINGS)
        Runner(cfg).run(stop="self_instruct")
        paid = srv.request_count
        # evol was never run: its requests are new, so the estimate is its max_tokens bound; self_instruct's
        # answers (forced to rerun) are cached, and its estimate uses their real lengths.
        plans = Runner(cfg, force=True).dry_run().dry_run
    assert plans["self_instruct"].cached == paid and plans["self_instruct"].requests == 0
    assert plans["evol_instruct"].completion_basis == {"max"} and plans["evol_instruct"].requests > 0


def test_dry_run_backend_matches_the_real_identity_and_estimates_tokens(make_config):
    cfg = make_config(None, "generator.base_url=http://127.0.0.1:9/v1")
    assert DryRunBackend(cfg.generator).identity() == OpenAIBackend(cfg.generator).identity()
    from pipeline.generators.base import GenerationRequest, SamplingParams

    req = GenerationRequest.chat([{"role": "system", "content": "x" * 40}, {"role": "user", "content": "y" * 41}],
                                 SamplingParams())
    assert estimate_prompt_tokens(req) == 21 + 8
    assert estimate_prompt_tokens(GenerationRequest.completion("z" * 8, SamplingParams())) == 2
