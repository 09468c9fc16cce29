"""A deterministic OpenAI-compatible HTTP server on 127.0.0.1 for tests, benchmarks and crash-safety runs.

Faults are drawn from a hash of (canonical request body, how often that body was seen before, seed), so
the same requests get the same faults whatever their arrival order, and a retried request gets a fresh
draw. Fault names as logged: "429", "500", "503", "hang" (answers only after `hang_seconds`), "malformed"
(200 with a non-JSON body), "empty" (every choice has content "" and finish_reason "stop"), "length"
(each reply cut to half its words, finish_reason "length"); "forced" marks answers from `fail_next`.
A request is *paid* when it is answered 200 with a well-formed completion: no fault, "empty" or "length".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from typing_extensions import Self

HOST = "127.0.0.1"
DEFAULT_MODELS = ("fake-model",)
FAULT_NAMES = ("429", "500", "503", "hang", "malformed", "empty", "length")
_PAID_FAULTS = (None, "empty", "length")
_KINDS = {"/v1/chat/completions": "chat", "/v1/completions": "completion"}
_MALFORMED_BODY = b'{"id": "chatcmpl-fake", "object": "chat.completion", "choices": [{"index": 0, "mess'
_ERRORS = {  # status -> (type, code, message), as OpenAI words them
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    404: ("invalid_request_error", None, "Not found."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaultConfig:
    """Probabilities (summing to at most 1) of each fault on a completion request, and their timings."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_hang: float = 0.0
    rate_malformed: float = 0.0
    rate_empty: float = 0.0
    rate_length: float = 0.0
    retry_after: float = 0.05
    hang_seconds: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        rates = [getattr(self, f"rate_{name}") for name in FAULT_NAMES]
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"fault rates must each lie in [0, 1] and sum to at most 1; got {rates}")
        if self.retry_after < 0 or self.hang_seconds < 0:
            raise ValueError("retry_after and hang_seconds must be >= 0 seconds")

    def pick(self, draw: float) -> str | None:
        """The fault for a uniform draw in [0, 1), or None for a normal answer."""
        edge = 0.0
        for name in FAULT_NAMES:
            edge += getattr(self, f"rate_{name}")
            if draw < edge:
                return name
        return None


@dataclass(frozen=True)
class Reply:
    """A responder's answer for one choice."""

    text: str
    finish_reason: str = "stop"


@dataclass(frozen=True)
class FakeRequest:
    """What a responder sees: one choice of one completion request."""

    kind: str  # "chat" or "completion"
    prompt_text: str  # chat: every message's content joined by newlines; completion: the prompt
    messages: list[dict[str, Any]] | None
    body: dict[str, Any]
    choice_index: int = 0


Responder = Callable[[FakeRequest], "str | Reply"]


@dataclass
class _Answer:
    status: int
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    paid: bool = False


def _json_answer(status: int, obj: object, **kwargs: Any) -> _Answer:
    return _Answer(status, json.dumps(obj).encode(), **kwargs)


def _error_answer(
    status: int, message: str | None = None, code: str | None = None, retry_after: float = 0.0
) -> _Answer:
    kind, default_code, default_message = _ERRORS.get(status, ("server_error", None, f"HTTP {status}"))
    error = {"message": message or default_message, "type": kind, "param": None, "code": code or default_code}
    headers = {}
    if status == 429:  # the openai client prefers retry-after-ms, other clients read Retry-After
        headers = {"Retry-After": f"{retry_after:g}", "retry-after-ms": f"{retry_after * 1000:g}"}
    return _json_answer(status, {"error": error}, headers=headers)


def _word_spans(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"\S+", text))


def _keep_words(text: str, count: int) -> str:
    spans = _word_spans(text)
    return text[: spans[count - 1].end()] if count > 0 else ""


def _shape(reply: Reply, stops: list[str], max_tokens: int | None) -> Reply:
    """Apply stop sequences, then the token (word) limit, as a real server would while generating."""
    text, finish = reply.text, reply.finish_reason
    cuts = [text.find(stop) for stop in stops if stop and stop in text]
    if cuts:
        text, finish = text[: min(cuts)], "stop"
    if max_tokens is not None and len(_word_spans(text)) > max_tokens:
        text, finish = _keep_words(text, max_tokens), "length"
    return Reply(text, finish)


def _content_text(content: object) -> str:
    if isinstance(content, list):  # content parts: keep the text ones
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _validation_problem(kind: str, body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str):
        return "you must provide a model parameter (a string)"
    if kind == "chat" and not (isinstance(body.get("messages"), list) and body["messages"]):
        return "'messages' must be a non-empty list of {role, content} objects"
    if kind == "completion" and not isinstance(body.get("prompt"), (str, list)):
        return "'prompt' must be a string or a list of strings"
    if body.get("stream"):
        return "the fake server does not stream; call it with stream=False"
    n = body.get("n", 1)
    if n is not None and not (isinstance(n, int) and 1 <= n <= 128):
        return "'n' must be an integer between 1 and 128"
    for key in ("max_tokens", "max_completion_tokens"):
        if body.get(key) is not None and not (isinstance(body[key], int) and body[key] >= 1):
            return f"'{key}' must be a positive integer"
    return None


def _prompts(kind: str, body: dict[str, Any]) -> list[str]:
    if kind == "chat":
        return ["\n".join(_content_text(message.get("content")) for message in body["messages"])]
    prompt = body["prompt"]
    return [prompt] if isinstance(prompt, str) else [str(item) for item in prompt]


def _stops(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    return [stop] if isinstance(stop, str) else [str(item) for item in stop or []]


def _completion_payload(
    kind: str, body: dict[str, Any], replies: list[Reply], prompt_tokens: int, completion_id: str
) -> dict[str, Any]:
    if kind == "chat":
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": r.text, "refusal": None},
                "logprobs": None,
                "finish_reason": r.finish_reason,
            }
            for i, r in enumerate(replies)
        ]
    else:
        choices = [
            {"index": i, "text": r.text, "logprobs": None, "finish_reason": r.finish_reason}
            for i, r in enumerate(replies)
        ]
    completion_tokens = sum(len(r.text.split()) for r in replies)
    return {
        "id": f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{completion_id}",
        "object": "chat.completion" if kind == "chat" else "text_completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_fake",
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class FakeOpenAIServer:
    """OpenAI-compatible server on 127.0.0.1 with a request log, fault injection and restart on one port."""

    def __init__(
        self,
        responder: Responder | None = None,
        faults: FaultConfig | None = None,
        latency: float = 0.0,
        api_key: str | None = None,
        models: list[str] | None = None,
        port: int = 0,
        log_path: str | Path | None = None,
    ) -> None:
        if responder is None:  # imported here: the responders import this module's request types
            from pipeline.testing.responders import default_responder

            responder = default_responder
        self.responder = responder
        self.faults = faults or FaultConfig()
        self.latency = latency
        self.api_key = api_key
        self.models = list(models) if models is not None else None
        self.log_path = Path(log_path) if log_path is not None else None
        self._port = port
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []
        self._seen: dict[str, int] = {}
        self._forced: list[int] = []
        self._log_file: TextIO | None = None
        self._httpd: _LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> Self:
        """Bind (the same port again after a `stop`) and serve from a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("the fake server is already running; call stop() first")
        httpd = _LoopbackHTTPServer(self._port, self)
        self._port = httpd.server_address[1]
        if self.log_path is not None:
            self._log_file = self.log_path.open("a", encoding="utf-8")
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-openai-{self._port}",
            daemon=True,
        )
        self._httpd = httpd
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection, as a crashed server would; idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        httpd.hang_up_all()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- inspection --------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self._port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of the log: one dict per request with path, body, status, fault and paid."""
        with self._lock:
            return [dict(entry) for entry in self._log]

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._log)

    @property
    def paid_count(self) -> int:
        with self._lock:
            return sum(1 for entry in self._log if entry["paid"])

    def reset_log(self) -> None:
        """Forget logged requests (not how often each body was seen, which drives fault draws)."""
        with self._lock:
            self._log.clear()

    def fail_next(self, n: int, status: int) -> None:
        """Answer the next `n` requests, whatever they are, with HTTP `status` and OpenAI's error body."""
        with self._lock:
            self._forced.extend([status] * n)

    # -- answering ---------------------------------------------------------------------------------------
    def _respond(self, method: str, path: str, authorization: str | None, raw: bytes) -> _Answer:
        route = path.split("?", 1)[0].rstrip("/")
        try:
            body = json.loads(raw) if raw else None
            parsed = True
        except ValueError:
            body, parsed = None, False
        answer, fault = self._route(method, route, authorization, body, parsed)
        self._record(
            {"path": route, "body": body, "status": answer.status, "fault": fault, "paid": answer.paid}
        )
        return answer

    def _route(
        self, method: str, route: str, authorization: str | None, body: Any, parsed: bool
    ) -> tuple[_Answer, str | None]:
        with self._lock:
            forced = self._forced.pop(0) if self._forced else None
        if forced is not None:
            return _error_answer(forced, retry_after=self.faults.retry_after), "forced"
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return _error_answer(
                401,
                "Incorrect API key provided: pass the key the fake server was "
                "started with as api_key (Authorization: Bearer <key>).",
            ), None
        if method == "GET" and route == "/v1/models":
            return _json_answer(200, self._models_payload()), None
        kind = _KINDS.get(route) if method == "POST" else None
        if kind is None:
            return _error_answer(404, f"Unknown request URL: {method} {route}.", "unknown_url"), None
        if not parsed or not isinstance(body, dict):
            return _error_answer(
                400,
                "We could not parse the JSON body of your request: send a JSON "
                "object with Content-Type: application/json.",
            ), None
        problem = _validation_problem(kind, body)
        if problem is not None:
            return _error_answer(400, problem), None
        if self.models is not None and body["model"] not in self.models:
            message = f"The model `{body['model']}` does not exist or you do not have access to it."
            return _error_answer(404, message, "model_not_found"), None
        return self._complete(kind, body)

    def _complete(self, kind: str, body: dict[str, Any]) -> tuple[_Answer, str | None]:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        with self._lock:
            seen = self._seen.get(canonical, 0)
            self._seen[canonical] = seen + 1
        digest = hashlib.sha256(f"{self.faults.seed}\x00{seen}\x00{canonical}".encode()).digest()
        fault = self.faults.pick(int.from_bytes(digest[:8], "big") / 2**64)
        if fault in ("429", "500", "503"):
            return _error_answer(int(fault), retry_after=self.faults.retry_after), fault
        if fault == "malformed":
            return _Answer(200, _MALFORMED_BODY), fault
        try:
            replies = self._replies(kind, body)
        except Exception as exc:  # noqa: BLE001 (a broken responder is a test's bug: loud, not retried)
            _log.exception("fake server responder failed")
            return _error_answer(500, f"fake server responder raised {exc!r}"), "responder_error"
        if fault == "empty":
            replies = [Reply("", "stop") for _ in replies]
        elif fault == "length":
            replies = [Reply(_keep_words(r.text, len(r.text.split()) // 2), "length") for r in replies]
        prompt_tokens = sum(len(prompt.split()) for prompt in _prompts(kind, body))
        payload = _completion_payload(kind, body, replies, prompt_tokens, digest.hex()[:24])
        if fault == "hang":  # its client has given up by the time it is answered: not paid
            return _json_answer(200, payload, delay=self.faults.hang_seconds), fault
        return _json_answer(200, payload, paid=True), fault

    def _replies(self, kind: str, body: dict[str, Any]) -> list[Reply]:
        messages = body.get("messages") if kind == "chat" else None
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        replies = []
        for prompt_text in _prompts(kind, body):
            for index in range(body.get("n") or 1):
                reply = self.responder(FakeRequest(kind, prompt_text, messages, body, index))
                reply = reply if isinstance(reply, Reply) else Reply(str(reply))
                replies.append(_shape(reply, _stops(body), limit))
        return replies

    def _models_payload(self) -> dict[str, Any]:
        names = self.models if self.models is not None else list(DEFAULT_MODELS)
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in names]
        return {"object": "list", "data": data}

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)
            if self._log_file is not None:
                self._log_file.write(json.dumps(entry) + "\n")
                self._log_file.flush()


class _LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to 127.0.0.1 that can drop all its open connections at once."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # 64+ clients connect at once; a short backlog costs them 1 s SYN retries

    def __init__(self, port: int, owner: FakeOpenAIServer) -> None:
        self.owner = owner
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def server_bind(self) -> None:  # skip HTTPServer's reverse DNS lookup of the host name
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, self.server_address[1]

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)
        if self.stopping.is_set():
            self.hang_up_all()

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a timeout, a killed run) is normal here: log, don't print.
        _log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def hang_up_all(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, waits out latency and hangs, writes the answer with an exact Content-Length."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: without TCP_NODELAY the body waits on the client's
    # delayed ACK (~40 ms) on a kept-alive connection, which caps the throughput benchmark.
    disable_nagle_algorithm = True
    server: _LoopbackHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_GET(self) -> None:  # http.server's naming
        self._exchange("GET")

    def do_POST(self) -> None:
        self._exchange("POST")

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the owner keeps a log
        pass

    def _exchange(self, method: str) -> None:
        raw = self._read_body()
        owner, stopping = self.server.owner, self.server.stopping
        if stopping.wait(owner.latency):
            self.close_connection = True
            return
        answer = owner._respond(method, self.path, self.headers.get("Authorization"), raw)
        if answer.delay and stopping.wait(answer.delay):
            self.close_connection = True
            return
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.payload)
        except OSError:  # the client hung up (e.g. timed out during a hang)
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.testing.fake_server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    for name in FAULT_NAMES:
        parser.add_argument(f"--rate-{name}", type=float, default=0.0, help=f"probability of fault {name}")
    parser.add_argument("--retry-after", type=float, default=0.05, help="Retry-After seconds on a 429")
    parser.add_argument("--hang-seconds", type=float, default=30.0, help="how long a hang lasts")
    parser.add_argument("--seed", type=int, default=0, help="fault seed")
    parser.add_argument("--api-key", default=None, help="require Authorization: Bearer <key>")
    parser.add_argument("--models", default=None, help="comma-separated model names to accept")
    parser.add_argument("--log", type=Path, default=None, help="append each request as a JSON line")
    parser.add_argument("--port-file", type=Path, default=None, help="write the bound port here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C; print the bound port first (and write it to --port-file)."""
    args = _parse_args(argv)
    rates = {f"rate_{name}": getattr(args, f"rate_{name}") for name in FAULT_NAMES}
    faults = FaultConfig(
        **rates, retry_after=args.retry_after, hang_seconds=args.hang_seconds, seed=args.seed
    )
    models = [name.strip() for name in args.models.split(",") if name.strip()] if args.models else None
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # raise KeyboardInterrupt: leave `with`
    server = FakeOpenAIServer(
        faults=faults,
        latency=args.latency,
        api_key=args.api_key,
        models=models,
        port=args.port,
        log_path=args.log,
    )
    try:
        with server:
            if args.port_file is not None:
                _write_atomically(args.port_file, f"{server.port}\n")
            print(server.port, flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    # Run the imported module's main so responders and this code share one set of classes (not __main__'s).
    from pipeline.testing.fake_server import main as _main

    sys.exit(_main())
