"""The run directory on disk: atomic writes, per-stage record files, and the manifest."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipeline.errors import RunDirectoryError
from pipeline.records import Record, Rejection


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_lines(path, [text], newline=False)


def atomic_write_lines(path: Path, lines: Iterable[str], newline: bool = True) -> str:
    """Write to a temp file in the same folder, fsync, then rename: readers see the old or the new file,
    never half of one. Returns the sha256 of what was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; outputs are meant to be read by others (and trainers)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for line in lines:
                chunk = line + "\n" if newline else line
                digest.update(chunk.encode("utf-8"))
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class RunDirectory:
    """output/<run-name>/: manifest.json, config.yaml, cache.sqlite, stages/NN_name/{kept,rejected}.jsonl."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def ensure_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise RunDirectoryError(f"cannot write the run directory ({exc.strerror}): choose another "
                                    "--set output_dir=... or fix its permissions", path=self.root) from None

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def stage_dir(self, index: int, name: str) -> Path:
        return self.root / "stages" / f"{index:02d}_{name}"

    def kept_path(self, index: int, name: str) -> Path:
        return self.stage_dir(index, name) / "kept.jsonl"

    def rejected_path(self, index: int, name: str) -> Path:
        return self.stage_dir(index, name) / "rejected.jsonl"

    def write_stage(self, index: int, name: str, kept: list[Record], rejected: list[Rejection],
                    stats: dict[str, Any]) -> str:
        """Rejections and stats first, kept records last: the kept file's hash is what marks completion."""
        atomic_write_lines(self.rejected_path(index, name), (r.to_json() for r in rejected))
        atomic_write_text(self.stage_dir(index, name) / "stats.json", json.dumps(stats, indent=2, default=str))
        return atomic_write_lines(self.kept_path(index, name), (r.to_json() for r in kept))

    def read_kept(self, index: int, name: str) -> list[Record]:
        return read_jsonl_records(self.kept_path(index, name))

    def read_rejected(self, index: int, name: str) -> list[Rejection]:
        path = self.rejected_path(index, name)
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as fh:
            return [Rejection.from_json(line) for line in fh if line.strip()]

    def read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {}
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return {}  # atomic writes make this unlikely; a broken manifest just means "rerun everything"

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=False, default=str))


def read_jsonl_records(path: Path) -> list[Record]:
    with open(path, encoding="utf-8") as fh:
        return [Record.from_json(line) for line in fh if line.strip()]
