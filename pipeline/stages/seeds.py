"""Seed loading: the first stage reads the user's seed files (any supported format) into records."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import Field

from pipeline import PROJECT_ROOT
from pipeline.readers import read_records
from pipeline.readers.load import FORMATS
from pipeline.records import Record, StageResult
from pipeline.stages.base import Stage, StageConfig


class SeedsConfig(StageConfig):
    # Our own 130+ seed tasks in Self-Instruct's format; any JSON/JSONL/CSV/Parquet/datasets source works.
    paths: list[str] = Field(default_factory=lambda: ["seeds/seed_tasks.jsonl"], min_length=1)
    format: str = "auto"
    split: str = "train"
    limit: int | None = Field(None, ge=1)

    def model_post_init(self, _context: object) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"seeds.format must be one of {', '.join(FORMATS)}")


def resolve_path(path: str) -> str:
    """Relative paths are tried from the working directory, then from the project checkout."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return str(p)
    fallback = PROJECT_ROOT / p
    return str(fallback) if fallback.exists() else str(p)


class SeedsStage(Stage):
    name = "seeds"
    config_cls = SeedsConfig
    config: SeedsConfig

    def input_fingerprint(self) -> str:
        """The seed files' content, so an edited seed file reruns the pipeline from here."""
        h = hashlib.sha256()
        for raw in self.config.paths:
            path = Path(resolve_path(raw))
            h.update(raw.encode())
            if path.is_file():
                h.update(hashlib.sha256(path.read_bytes()).digest())
            elif path.is_dir():
                for f in sorted(path.rglob("*")):
                    if f.is_file():
                        h.update(f.name.encode() + str(f.stat().st_size).encode())
        return h.hexdigest()

    def run(self, records: list[Record]) -> StageResult:
        result = StageResult()
        seen: set[str] = set()
        for raw in self.config.paths:
            loaded = read_records(resolve_path(raw), self.config.format, stage=self.name, split=self.config.split)
            for rec in loaded:
                if rec.id in seen:
                    result.reject(rec, self.name, "duplicate_seed", rec.id)
                    continue
                seen.add(rec.id)
                result.kept.append(rec)
        if self.config.limit is not None:
            result.kept = result.kept[: self.config.limit]
        tasks = {r.meta.get("task_id", r.id) for r in result.kept}
        result.stats = {"files": len(self.config.paths), "tasks": len(tasks), "instances": len(result.kept),
                        "classification_tasks": len({r.meta.get("task_id") for r in result.kept
                                                     if r.meta.get("is_classification")})}
        return result
