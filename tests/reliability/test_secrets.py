"""A recognisable fake API key never reaches the run directory, cache, failure log, report or any message."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.cli import main
from pipeline.testing.fake_server import FakeOpenAIServer, FaultConfig

KEY = "sk-RELIABILITY-fake-key-7c3e9a1b5d2f"


class _EchoHeaders(BaseHTTPRequestHandler):
    """A server whose 400 errors quote the request's headers and URL back, key included."""

    def do_POST(self) -> None:  # http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": {"message": f"bad request to {self.path} with headers {dict(self.headers)}",
                                     "type": "invalid_request_error", "param": None, "code": None}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def echo_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHeaders)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def _scan(root) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path


def test_key_appears_nowhere(local_pipeline, tmp_path, monkeypatch, capsys, echo_server):
    monkeypatch.setenv("RELIABILITY_KEY", KEY)
    out = tmp_path / "out"
    faults = FaultConfig(rate_500=0.3, seed=5)
    with FakeOpenAIServer(api_key=KEY, faults=faults) as srv:
        base = ["run", "--output-dir", str(out), "--set", "generator.model=test-model", "--set",
                "generator.api_key_env=RELIABILITY_KEY", "--set", f"seeds.paths=[{local_pipeline}]",
                "--set", "generator.backoff_max_s=0.01"]
        # A full run with the report, some requests failing for good (so failure log and rejections exist).
        assert main(base + ["--set", f"generator.base_url={srv.base_url}", "--set", "generator.max_retries=0"]) == 0
        assert (out / "run" / "failed_requests.jsonl").exists() and (out / "run" / "report.html").exists()
        assert main(base + ["--set", f"generator.base_url={srv.base_url}", "--dry-run", "--force"]) == 0
    # A server that quotes our headers back in its errors: the error lands in failure log and rejections.
    assert main(base + ["--set", f"generator.base_url={echo_server}", "--force", "--allow-loss"]) == 0
    failures = (out / "run" / "failed_requests.jsonl").read_text()
    assert "'authorization': 'Bearer ***'" in failures
    # Error messages that would quote a URL carrying the key, or a server rejecting it.
    assert main(base + ["--set", f"generator.base_url=http://127.0.0.1:9/v1?key={KEY}", "--force"]) == 2
    with FakeOpenAIServer(api_key="another-key") as srv:
        assert main(base + ["--set", f"generator.base_url={srv.base_url}", "--force"]) == 2
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert main(["config", "show", "--set", "generator.base_url=http://x/" + KEY]) == 0
    captured = capsys.readouterr()
    assert "cannot reach http://127.0.0.1:9/v1?key=***" in captured.err
    assert KEY not in captured.out and KEY not in captured.err
    _scan(out)
