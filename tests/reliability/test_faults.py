"""A Self-Instruct + Evol-Instruct run against a faulty server completes, retries what can be retried and
records every failure and every cut-off answer (the real stages, small settings)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from real_stages import GENERATING, SETTINGS, read_jsonl, stage_rows

from pipeline.errors import GeneratorError
from pipeline.runner import Runner
from pipeline.testing.fake_server import FakeOpenAIServer, FaultConfig

# The mix: 20% 429, 10% 500/503, 5% hangs past the timeout, 5% malformed/empty, 5% cut off.
FAULTS = FaultConfig(rate_429=0.2, rate_500=0.05, rate_503=0.05, rate_hang=0.05, rate_malformed=0.025,
                     rate_empty=0.025, rate_length=0.05, hang_seconds=1.5, retry_after=0.01, seed=1)
# With seed 1 the run below cuts off answers in every content step (bootstrap, instances, evolve, respond,
# improve) and exhausts the retries of requests in both stages.
# Steps whose cut-off answers are a normal outcome: a 3-token "Yes"/"No" verdict and a 16-token judge
# verdict are read as far as they go (an unreadable one is its own rejection or counter).
SHORT_ANSWER_TAGS = ("self_instruct.classification", "evol_instruct.equality")


def _truncated(entry: dict, tag: str) -> int:
    return entry["usage"]["by_tag"].get(tag, {}).get("truncated", 0)


def _check_truncations_recorded(root, manifest) -> int:
    """Every cut-off answer of a content step left a record: a truncation rejection, or (evol's answers,
    which the quality stage's truncation filter drops, or improves) a record whose meta says "length"."""
    si, ev = manifest["stages"]["self_instruct"], manifest["stages"]["evol_instruct"]
    si_rej = Counter(r["reason"] for r in stage_rows(root, "01_self_instruct", "rejected"))
    assert _truncated(si, "self_instruct.bootstrap") == si_rej["truncated_item"]
    assert _truncated(si, "self_instruct.instances") == si_rej["instance_truncated"]
    ev_rej = stage_rows(root, "02_evol_instruct", "rejected")
    cut_rewrites = sum(r["reason"] == "parse_failed" and r["value"] == "truncated" for r in ev_rej)
    assert _truncated(ev, "evol_instruct.evolve") == cut_rewrites
    answers = [r["record"] for r in ev_rej] + stage_rows(root, "02_evol_instruct", "kept")
    # An answer that an improvement replaced keeps its finish_reason in meta["evol"].
    cut_answers = sum(r["meta"].get("finish_reason") == "length" for r in answers) + sum(
        r["meta"].get("evol", {}).get("first_answer_finish_reason") == "length" for r in answers)
    assert _truncated(ev, "evol_instruct.respond") == cut_answers
    cut_improvements = sum(r["reason"] == "truncated_output" and r["detail"]["step"] == "improve_response"
                           for r in ev_rej)
    assert _truncated(ev, "evol_instruct.improve_response") == cut_improvements
    counted = sum(_truncated(e, t) for e in (si, ev) for t in e["usage"]["by_tag"] if t not in SHORT_ANSWER_TAGS)
    return counted


def test_faulty_server_run_completes_and_accounts_for_everything(make_config):
    with FakeOpenAIServer(faults=FAULTS) as srv:
        # Two retries, so that with this fault mix some requests exhaust them and must be recorded.
        cfg = make_config(srv, *SETTINGS, "evol_instruct.evolve_responses=true", "generator.max_retries=2",
                          "generator.timeout_s=0.5", "generator.concurrency=8", "generator.backoff_max_s=0.05")
        summary = Runner(cfg).run()
        log = srv.requests
    assert summary.ran == ["seeds", "self_instruct", "evol_instruct"]
    root = cfg.run_dir
    manifest = json.loads((root / "manifest.json").read_text())
    faults = Counter(r["fault"] for r in log)
    assert all(faults[f] for f in ("429", "500", "503", "hang", "malformed", "empty", "length")), faults

    failures = read_jsonl(root / "failed_requests.jsonl")
    assert failures, "this seed and fault mix must exhaust some retries"
    sent = 0
    for stage, folder in GENERATING:
        entry = manifest["stages"][stage]
        assert entry["status"] == "done" and "lost" not in entry
        total = entry["usage"]["total"]
        reasons = Counter(r["reason"] for r in stage_rows(root, folder, "rejected"))
        # Every unrecoverable failure is a rejection with its reason, logged with its error.
        assert total["failed"] == reasons["generation_failed"] == sum(f["stage"] == stage for f in failures)
        assert reasons["generation_failed"] > 0 and entry["counts"]["kept"] > 0
        sent += total["requests"] - total["cached"]
    assert _check_truncations_recorded(root, manifest) > 0
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


def _bodies(entries: list[dict]) -> Counter:
    return Counter(json.dumps(e["body"], sort_keys=True) for e in entries if e["paid"])


def test_server_going_away_and_back_is_waited_out(make_config):
    with FakeOpenAIServer(latency=0.02) as srv:
        cfg = make_config(srv, *SETTINGS, "generator.concurrency=4", "generator.backoff_base_s=0.1",
                          "generator.backoff_max_s=0.5", "generator.max_retries=8")
        watcher = _stop_after(srv, 10, down_s=0.8)
        Runner(cfg).run()
        watcher.join(5)
        paid = _bodies(srv.requests)
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    totals = manifest["totals"]
    assert totals["failed"] == 0 and totals["retries"] > 0
    assert {s["status"] for s in manifest["stages"].values() if s.get("status") != "disabled"} == {"done"}
    # Nothing lost, nothing paid twice: every request the stages made was paid once or read from the cache.
    assert max(paid.values()) == 1 and sum(paid.values()) == totals["requests"] - totals["cached"]


def test_server_gone_for_good_stops_clearly_and_resume_loses_nothing(make_config):
    with FakeOpenAIServer(latency=0.02) as srv:
        cfg = make_config(srv, *SETTINGS, "generator.concurrency=4", "generator.backoff_base_s=0.01",
                          "generator.backoff_max_s=0.05", "generator.max_retries=2")
        watcher = _stop_after(srv, 10, down_s=None)
        with pytest.raises(GeneratorError, match="lost the server .* rerun the same command") as exc:
            Runner(cfg).run()
        watcher.join(5)
        assert "\n" not in exc.value.one_line()
        first = _bodies(srv.requests)
        manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
        assert manifest["stages"]["self_instruct"]["status"] == "running"
        srv.start()
        start = len(srv.requests)
        Runner(cfg).run()
        second = _bodies(srv.requests[start:])
    assert 0 < sum(first.values()) < 20
    assert not set(first) & set(second)  # the rerun paid only for what had not arrived
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    assert {s["status"] for s in manifest["stages"].values() if s.get("status") != "disabled"} == {"done"}
    totals = manifest["totals"]
    assert totals["failed"] == 0
    # The rerun read every answer the first run had paid for from the cache.
    assert sum(second.values()) == totals["requests"] - totals["cached"]
    assert manifest["stages"]["self_instruct"]["usage"]["total"]["cached"] >= sum(first.values())
