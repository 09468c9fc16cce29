"""SQLite response cache: every answer is stored the moment it arrives, so no call is ever paid twice."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from pipeline.generators.base import Generation

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    tag TEXT NOT NULL,
    request TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    model TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class ResponseCache:
    """Keyed by a hash of backend identity, prompt, sampling params and sample index (never the API key)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against process crashes in WAL mode (only an OS crash can lose the last commits).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get(self, key: str) -> Generation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text, finish_reason, prompt_tokens, completion_tokens, model FROM responses WHERE key=?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return Generation(text=row[0], finish_reason=row[1], prompt_tokens=row[2], completion_tokens=row[3],
                          model=row[4], cached=True)

    def put(self, key: str, tag: str, request: dict, gen: Generation) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?)",
                (key, tag, json.dumps(request, ensure_ascii=False), gen.text, gen.finish_reason,
                 gen.prompt_tokens, gen.completion_tokens, gen.model, time.time()),
            )

    def mean_completion_tokens(self) -> dict[str, float]:
        """Mean completion tokens per step tag over the stored answers (dry-run estimates use them)."""
        with self._lock:
            rows = self._db.execute("SELECT tag, AVG(completion_tokens) FROM responses GROUP BY tag").fetchall()
        return {tag: float(mean) for tag, mean in rows}

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
