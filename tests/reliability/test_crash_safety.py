"""Kill -9 and Ctrl-C in the middle of a real Self-Instruct + Evol-Instruct run, then rerun: no cached answer
is paid again, nothing is corrupt, and the final records equal those of an uninterrupted run (pipeline and
fake server in separate processes)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from real_stages import SETTINGS, cli_sets, outcome

LAUNCH = str(Path(__file__).with_name("launch.py"))
CONCURRENCY = 4


def _key(messages, params) -> str:
    return json.dumps([messages, params["temperature"], params["max_tokens"]], sort_keys=True)


def _log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture
def server_process(tmp_path):
    log, port_file = tmp_path / "server.log", tmp_path / "port"
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.testing.fake_server", "--log", str(log),
                             "--port-file", str(port_file), "--latency", "0.05"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_file.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "fake server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port_file.read_text().strip()}/v1", log
    proc.terminate()
    proc.wait(10)


def _command(base_url: str, out: Path) -> list[str]:
    return [sys.executable, LAUNCH, "run", "--output-dir", str(out), "--set", f"generator.base_url={base_url}",
            "--set", "generator.model=test-model", "--set", "report=false",
            "--set", f"generator.concurrency={CONCURRENCY}", *cli_sets(SETTINGS)]


def _env() -> dict[str, str]:
    return dict(os.environ, INSTRUCT_PIPELINE_PROGRESS="0", PYTHONUNBUFFERED="1", RELIABILITY_REAL_STAGES="1")


def _settled(log: Path, quiet_s: float = 0.3) -> int:
    """The log's length once it has stopped growing: answers to a killed run's requests still in flight
    are logged after it died, and belong to it, not to the next run."""
    n, since = len(_log(log)), time.monotonic()
    while time.monotonic() - since < quiet_s:
        time.sleep(0.02)
        if len(_log(log)) != n:
            n, since = len(_log(log)), time.monotonic()
    return n


def _run_until(cmd: list[str], log: Path, new_requests: int, sig: int) -> subprocess.CompletedProcess | None:
    """Start the pipeline; once the server has logged `new_requests` more requests, send `sig`."""
    start = len(_log(log))
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and len(_log(log)) < start + new_requests:
        time.sleep(0.005)
    if proc.poll() is None:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _check_not_corrupt(root: Path) -> Counter:
    """Every JSON/JSONL file parses and the cache passes SQLite's integrity check; returns cached keys."""
    for path in list(root.rglob("*.jsonl")) + list(root.rglob("*.json")):
        text = path.read_text()
        if path.suffix == ".json":
            json.loads(text)
        else:
            for line in text.splitlines():
                json.loads(line)
    db = sqlite3.connect(root / "cache.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT request FROM responses").fetchall()
    finally:
        db.close()
    return Counter(_key(json.loads(r)["messages"], json.loads(r)["params"]) for (r,) in rows)


def _paid(entries: list[dict]) -> Counter:
    return Counter(_key(e["body"]["messages"], e["body"]) for e in entries if e["paid"])


@pytest.mark.timeout(240)
def test_kill_and_ctrl_c_then_resume(server_process, tmp_path):
    base_url, log = server_process
    clean_out, crash_out = tmp_path / "clean", tmp_path / "crash"

    done = subprocess.run(_command(base_url, clean_out), check=False, env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    clean_log = _log(log)
    clean = _paid(clean_log)
    assert sum(clean.values()) > 60  # both stages made requests: bootstrap, classification, instances, evol

    cmd = _command(base_url, crash_out)
    root = crash_out / "run"
    extra_paid = 0
    # SIGKILL in self_instruct's first batches, Ctrl-C, SIGKILL near the stage boundary and mid
    # evol_instruct, then run to completion.
    stops = ((6, signal.SIGKILL), (10, signal.SIGINT), (15, signal.SIGKILL), (20, signal.SIGKILL))
    statuses = []  # the generating stages' statuses after each stop
    for new_requests, sig in (*stops, (10**9, None)):
        if (root / "manifest.json").exists():
            stages = json.loads((root / "manifest.json").read_text())["stages"]
            statuses.append(tuple(stages.get(s, {}).get("status") for s in ("self_instruct", "evol_instruct")))
        start = _settled(log)
        cached_before = _check_not_corrupt(root) if (root / "cache.sqlite").exists() else Counter()
        if sig is None:
            result = subprocess.run(cmd, check=False, env=_env(), capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
        else:
            result = _run_until(cmd, log, new_requests, sig)
        this_run = _paid(_log(log)[start:])
        # A cached answer is never requested again.
        for key, count in this_run.items():
            assert count <= clean[key] - cached_before[key], key
        extra_paid += sum(this_run.values())
        if sig == signal.SIGKILL:
            assert result.returncode == -signal.SIGKILL
        if sig == signal.SIGINT:
            assert result.returncode == 130, result.stderr
            assert "run the same command again to resume" in result.stderr
            assert "Traceback" not in result.stderr
            manifest = json.loads((root / "manifest.json").read_text())
            assert "running" in {s.get("status") for s in manifest["stages"].values()}

    _check_not_corrupt(root)
    # The first kill landed in self_instruct, the last one in evol_instruct.
    assert statuses[0] == ("running", None) and statuses[-1] == ("done", "running"), statuses
    # At most the requests in flight at each stop were paid and lost.
    assert sum(clean.values()) <= extra_paid <= sum(clean.values()) + len(stops) * CONCURRENCY
    # The same records, kept and rejected (with the same reasons), as the run that was never interrupted.
    assert outcome(root) == outcome(clean_out / "run")
    assert all(kept for kept, _ in outcome(root).values())
    manifest = json.loads((root / "manifest.json").read_text())
    assert {s["status"] for s in manifest["stages"].values() if s.get("status") != "disabled"} == {"done"}
