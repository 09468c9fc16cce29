"""A run against a faulty server completes, retries what can be retried and records every failure."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest

from pipeline.errors import GeneratorError
from pipeline.runner import Runner
from pipeline.testing.fake_server import FakeOpenAIServer, FaultConfig

# The mix: 20% 429, 10% 500/503, 5% hangs past the timeout, 5% malformed/empty, 5% cut off.
FAULTS = FaultConfig(rate_429=0.2, rate_500=0.05, rate_503=0.05, rate_hang=0.05, rate_malformed=0.025,
                     rate_empty=0.025, rate_length=0.05, hang_seconds=1.5, retry_after=0.01, seed=34)


def _rejected(root, stage_dir):
    path = root / "stages" / stage_dir / "rejected.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_faulty_server_run_completes_and_accounts_for_everything(local_pipeline, make_config):
    with FakeOpenAIServer(faults=FAULTS) as srv:
        # Two retries, so that with this fault mix some requests exhaust them and must be recorded.
        cfg = make_config(srv, f"seeds.paths=[{local_pipeline}]", "generator.max_retries=2",
                          "generator.timeout_s=0.5", "generator.concurrency=8", "generator.backoff_max_s=0.05")
        summary = Runner(cfg).run()
        log = srv.requests
    assert summary.ran == ["seeds", "self_instruct", "evol_instruct"]
    root = cfg.run_dir
    manifest = json.loads((root / "manifest.json").read_text())
    faults = Counter(r["fault"] for r in log)
    assert all(faults[f] for f in ("429", "500", "503", "hang", "malformed", "empty", "length")), faults

    failures = [json.loads(x) for x in (root / "failed_requests.jsonl").read_text().splitlines()]
    assert failures, "this seed and fault mix must exhaust some retries"
    sent = 0
    for stage, folder in (("self_instruct", "01_self_instruct"), ("evol_instruct", "02_evol_instruct")):
        entry = manifest["stages"][stage]
        total = entry["usage"]["total"]
        reasons = Counter(r["reason"] for r in _rejected(root, folder))
        # Every unrecoverable failure is a rejection with its reason; every cut-off answer too.
        assert total["failed"] == reasons["generation_failed"] == sum(f["stage"] == stage for f in failures)
        assert total["truncated"] == reasons["truncated_output"]
        assert entry["counts"]["kept"] + reasons["generation_failed"] + reasons["truncated_output"] == \
            total["requests"]
        assert "lost" not in entry
        sent += total["requests"] - total["cached"]
    # Every recoverable failure was retried: each HTTP attempt is a first try or a counted retry, and the
    # failures that gave up had used all their retries.
    totals = manifest["totals"]
    assert len(log) == sent + totals["retries"]
    # A faulted attempt is always retried, except the last attempt of a request that gave up.
    faulted = sum(faults[f] for f in ("429", "500", "503", "hang", "malformed", "empty"))
    assert totals["retries"] == faulted - len(failures)
    assert all(f["retries"] == 2 for f in failures)
    assert {f["error"].split(":")[0] for f in failures} <= {
        "RateLimitError", "InternalServerError", "MalformedResponse", "JSONDecodeError", "timeout after 3 attempts"}
    assert totals["failed"] == len(failures) and totals["retries"] > 0


def _stop_after(srv: FakeOpenAIServer, n: int, down_s: float | None) -> threading.Thread:
    """Stop the server once it has logged n requests; start it again after down_s (None: stay down)."""

    def watch() -> None:
        while srv.request_count < n:
            time.sleep(0.005)
        srv.stop()
        if down_s is not None:
            time.sleep(down_s)
            srv.start()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_server_going_away_and_back_is_waited_out(local_pipeline, make_config):
    with FakeOpenAIServer(latency=0.02) as srv:
        cfg = make_config(srv, f"seeds.paths=[{local_pipeline}]", "generator.concurrency=4",
                          "generator.backoff_base_s=0.1", "generator.backoff_max_s=0.5", "generator.max_retries=8")
        watcher = _stop_after(srv, 10, down_s=0.8)
        Runner(cfg).run()
        watcher.join(5)
        paid = [r for r in srv.requests if r["paid"]]
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    totals = manifest["totals"]
    assert totals["failed"] == 0 and totals["retries"] > 0
    assert len(paid) == totals["requests"] == 24 + 24  # nothing lost, nothing paid twice


def test_server_gone_for_good_stops_clearly_and_resume_loses_nothing(local_pipeline, make_config):
    with FakeOpenAIServer(latency=0.02) as srv:
        cfg = make_config(srv, f"seeds.paths=[{local_pipeline}]", "generator.concurrency=4",
                          "generator.backoff_base_s=0.01", "generator.backoff_max_s=0.05", "generator.max_retries=2")
        watcher = _stop_after(srv, 10, down_s=None)
        with pytest.raises(GeneratorError, match="lost the server .* rerun the same command") as exc:
            Runner(cfg).run()
        watcher.join(5)
        assert "\n" not in exc.value.one_line()
        first_paid = sum(r["paid"] for r in srv.requests)
        manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
        assert manifest["stages"]["self_instruct"]["status"] == "running"
        srv.start()
        Runner(cfg).run()
        paid = sum(r["paid"] for r in srv.requests)
    assert 0 < first_paid < 48 and paid == 48  # the rerun paid only for what had not arrived
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    assert manifest["stages"]["evol_instruct"]["status"] == "done"
    assert manifest["stages"]["self_instruct"]["usage"]["total"]["cached"] == first_paid
