"""Loading a run directory (manifest, config, every stage's kept and rejected records) for the report."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import RunDirectoryError
from pipeline.records import Record, Rejection
from pipeline.rundir import RunDirectory
from pipeline.stages.registry import STAGE_NAMES

_STAGE_DIR = re.compile(r"^(\d+)_([A-Za-z0-9_]+)$")


@dataclass
class StageData:
    """One stage as the report sees it; `kept`/`rejected` are None when the stage wrote no files."""

    index: int
    name: str
    status: str  # done | disabled | running | not run
    entry: dict[str, Any] = field(default_factory=dict)
    kept: list[Record] | None = None
    rejected: list[Rejection] | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def has_records(self) -> bool:
        return self.kept is not None

    @property
    def count_in(self) -> int | None:
        counts = self.entry.get("counts", {})
        if "in" in counts:
            return int(counts["in"])
        if self.kept is None:
            return None
        # Without a manifest entry every input record was either kept or rejected.
        return len(self.kept) + len(self.rejected or [])

    @property
    def count_kept(self) -> int | None:
        counts = self.entry.get("counts", {})
        if "kept" in counts:
            return int(counts["kept"])
        return None if self.kept is None else len(self.kept)

    def rejections_by_reason(self) -> dict[str, int]:
        if self.entry.get("rejections_by_reason"):
            return {str(k): int(v) for k, v in self.entry["rejections_by_reason"].items()}
        counts: dict[str, int] = {}
        for r in self.rejected or []:
            counts[r.reason] = counts.get(r.reason, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    @property
    def usage_total(self) -> dict[str, Any]:
        return self.entry.get("usage", {}).get("total", {}) or {}


@dataclass
class RunData:
    root: Path
    manifest: dict[str, Any]
    config: dict[str, Any]
    stages: list[StageData]

    @property
    def seed(self) -> int:
        seed = self.config.get("seed", 0)
        return seed if isinstance(seed, int) else 0

    def stage(self, name: str) -> StageData | None:
        return next((s for s in self.stages if s.name == name), None)

    def records_of(self, name: str) -> list[Record]:
        stage = self.stage(name)
        return list(stage.kept or []) if stage else []

    def rejected_of(self, name: str) -> list[Rejection]:
        stage = self.stage(name)
        return list(stage.rejected or []) if stage else []

    def final_stage(self) -> StageData | None:
        """The last stage that wrote records: its kept records are the dataset the run produced."""
        with_records = [s for s in self.stages if s.has_records]
        return with_records[-1] if with_records else None


def _read_config(root: Path) -> dict[str, Any]:
    path = root / "config.yaml"
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return {}  # a broken config only costs the report its prices and seed
    return data if isinstance(data, dict) else {}


def _stage_dirs(root: Path) -> dict[str, tuple[int, Path]]:
    found: dict[str, tuple[int, Path]] = {}
    stages_root = root / "stages"
    if not stages_root.is_dir():
        return found
    for child in sorted(stages_root.iterdir()):
        m = _STAGE_DIR.match(child.name)
        if child.is_dir() and m:
            found[m.group(2)] = (int(m.group(1)), child)
    return found


def _order(name: str, index: int) -> tuple[int, str]:
    return (STAGE_NAMES.index(name) if name in STAGE_NAMES else index, name)


def load_run(root: str | Path) -> RunData:
    """Everything the report needs; stages that never ran appear with status 'not run' and no records."""
    root = Path(root)
    rundir = RunDirectory(root)
    manifest = rundir.read_manifest()
    dirs = _stage_dirs(root)
    if not manifest and not dirs:
        raise RunDirectoryError("no manifest.json and no stages/ folder: pass the run directory "
                                "(output/<run-name>) of a pipeline run", path=root)
    entries: dict[str, dict[str, Any]] = manifest.get("stages", {}) or {}
    names = list(dict.fromkeys([*STAGE_NAMES, *entries, *dirs]))
    stages: list[StageData] = []
    for pos, name in enumerate(names):
        index = dirs[name][0] if name in dirs else (STAGE_NAMES.index(name) if name in STAGE_NAMES else pos)
        entry = entries.get(name, {})
        status = entry.get("status") or ("done" if name in dirs else "not run")
        stage = StageData(index=index, name=name, status=status, entry=entry)
        if name in dirs and rundir.kept_path(index, name).exists():
            stage.kept = rundir.read_kept(index, name)
            stage.rejected = rundir.read_rejected(index, name)
            stats_path = rundir.stage_dir(index, name) / "stats.json"
            if stats_path.exists():
                try:
                    stage.stats = json.loads(stats_path.read_text(encoding="utf-8"))
                except json.JSONDecodeError:
                    stage.stats = {}
        stages.append(stage)
    stages.sort(key=lambda s: _order(s.name, s.index))
    return RunData(root=root, manifest=manifest, config=_read_config(root), stages=stages)
