"""The runner: the only place that knows the order of stages, the run directory, the manifest and resume."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline import PROMPTS_DIR, __version__
from pipeline.config import PipelineConfig, config_yaml
from pipeline.errors import ConfigError, DataLossError, RunDirectoryError, RunInterrupted
from pipeline.executors import make_executor
from pipeline.generators.generator import Generator
from pipeline.generators.usage import Usage, estimate_cost
from pipeline.records import Record, StageResult
from pipeline.rundir import RunDirectory, atomic_write_text, file_sha256
from pipeline.stages.base import Stage, StageContext
from pipeline.stages.registry import STAGE_NAMES, STAGES

_PACKAGES = ("datasets", "openai", "jinja2", "datasketch", "langdetect", "pandas", "pydantic", "torch",
             "transformers", "rouge-score")


@dataclass
class StageReport:
    name: str
    status: str  # ran | unchanged | disabled | not selected
    records_in: int = 0
    kept: int = 0
    rejected: int = 0
    wall_s: float = 0.0
    usage: dict[str, Any] = field(default_factory=dict)
    lost: int = 0


@dataclass
class RunSummary:
    run_dir: str
    stages: list[StageReport] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    dry_run: Any = None  # {stage: StagePlan} for --dry-run

    @property
    def ran(self) -> list[str]:
        return [s.name for s in self.stages if s.status == "ran"]


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "instruct-pipeline": __version__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def select_stages(stages: list[str] | None, start: str | None, stop: str | None) -> list[str]:
    for name in (stages or []) + [n for n in (start, stop) if n]:
        if name not in STAGE_NAMES:
            raise ConfigError(f"unknown stage '{name}': choose from {', '.join(STAGE_NAMES)}")
    if stages:
        return [n for n in STAGE_NAMES if n in stages]
    lo = STAGE_NAMES.index(start) if start else 0
    hi = STAGE_NAMES.index(stop) if stop else len(STAGE_NAMES) - 1
    if lo > hi:
        raise ConfigError(f"--from {start} comes after --to {stop}")
    return STAGE_NAMES[lo: hi + 1]


def lost_records(stage: Stage, records_in: int, result: StageResult, usage: dict[str, Any]) -> tuple[int, str]:
    """Records a stage dropped without a recorded reason, and how that was counted.

    A generating stage may make any number of records from its input, so there "lost" means a request
    that failed for good without its `generation_failed` rejection. Any other stage is a filter or a
    1:1 transform: every input record must come out kept or rejected (in = kept + rejected)."""
    if stage.uses_generator:
        failed = usage.get("total", {}).get("failed", 0)
        recorded = result.rejection_counts().get("generation_failed", 0)
        detail = f"{failed} requests failed for good but only {recorded} 'generation_failed' rejections were recorded"
        return max(0, failed - recorded), detail
    if records_in == 0:
        return 0, ""
    out = len(result.kept) + len(result.rejected)
    return max(0, records_in - out), f"in {records_in} != kept {len(result.kept)} + rejected {len(result.rejected)}"


def prompts_fingerprint(prompts_dir: str | None) -> str:
    """The templates' content: an edited prompt reruns the stages that render it (unchanged prompts
    still hit the cache)."""
    root = Path(prompts_dir) if prompts_dir else PROMPTS_DIR
    h = hashlib.sha256()
    if root.is_dir():
        for f in sorted(root.rglob("*")):
            if f.is_file():
                h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:24]


class Runner:
    def __init__(self, config: PipelineConfig, *, use_cache: bool = True, force: bool = False,
                 sequential: bool = False, generator: Generator | None = None, allow_loss: bool = False):
        self.config = config
        self.use_cache = use_cache
        self.force = force
        self.sequential = sequential
        self.allow_loss = allow_loss
        self.run_dir = RunDirectory(config.run_dir)
        self._generator = generator
        self._own_generator = generator is None

    # -- generator, created only when a stage that needs one actually runs
    def _get_generator(self) -> Generator:
        if self._generator is None:
            from pipeline.generators.factory import make_generator

            self._generator = make_generator(self.config.generator, self.run_dir.root,
                                             use_cache=self.use_cache, sequential=self.sequential)
        return self._generator

    def close(self) -> None:
        if self._generator is not None and self._own_generator:
            self._generator.close()

    # -- fingerprints
    def _fingerprint(self, stage: Stage, upstream_sha: str) -> str:
        parts: dict[str, Any] = {
            "stage": stage.name,
            "config": self.config.stage_config(stage.name).model_dump(mode="json"),
            "upstream": upstream_sha,
            "seed": self.config.seed,
            "version": __version__,
        }
        if stage.uses_generator:
            parts["generator"] = self.config.generator.identity()
            parts["prompts"] = prompts_fingerprint(self.config.prompts_dir)
        if hasattr(stage, "input_fingerprint"):
            parts["inputs"] = stage.input_fingerprint()
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]

    def _is_done(self, entry: dict[str, Any], index: int, name: str, fingerprint: str) -> bool:
        if self.force or entry.get("status") != "done" or entry.get("fingerprint") != fingerprint:
            return False
        kept = self.run_dir.kept_path(index, name)
        return kept.exists() and file_sha256(kept) == entry.get("kept_sha256")

    # -- the run
    def run(self, stages: list[str] | None = None, start: str | None = None, stop: str | None = None
            ) -> RunSummary:
        selected = select_stages(stages, start, stop)
        self.run_dir.ensure_writable()
        manifest = self.run_dir.read_manifest()
        manifest.update({
            "run_name": self.config.run_name,
            "config_hash": self.config.content_hash(),
            "pipeline_version": __version__,
            "package_versions": package_versions(),
            "created_at": manifest.get("created_at") or _now(),
        })
        manifest.setdefault("stages", {})
        atomic_write_text(self.run_dir.root / "config.yaml", config_yaml(self.config))

        summary = RunSummary(run_dir=str(self.run_dir.root))
        context = StageContext(seed=self.config.seed, generator_config=self.config.generator,
                               prompts_dir=self.config.prompts_dir,
                               executor=make_executor(self.config.executor, self.config.ray_address))
        self._preflight(selected, context)
        records: list[Record] | None = None
        upstream_sha = ""
        try:
            for index, stage_cls in enumerate(STAGES):
                name = stage_cls.name
                stage_config = self.config.stage_config(name)
                entry = manifest["stages"].get(name, {})
                if not stage_config.enabled:
                    manifest["stages"][name] = {"status": "disabled"}
                    summary.stages.append(StageReport(name, "disabled"))
                    continue
                stage = stage_cls(stage_config, context)
                fingerprint = self._fingerprint(stage, upstream_sha)
                if name not in selected or self._is_done(entry, index, name, fingerprint):
                    status = "unchanged" if name in selected else "not selected"
                    if not self.run_dir.kept_path(index, name).exists():
                        if any(STAGE_NAMES.index(s) > STAGE_NAMES.index(name) for s in selected):
                            raise RunDirectoryError(f"stage '{name}' has no output yet: run it first (drop "
                                                    "--stages/--from)", path=self.run_dir.root)
                        summary.stages.append(StageReport(name, status))
                        continue
                    upstream_sha = entry.get("kept_sha256") or file_sha256(self.run_dir.kept_path(index, name))
                    records = None  # read lazily if a later stage runs
                    summary.stages.append(StageReport(name, status, kept=entry.get("counts", {}).get("kept", 0),
                                                      rejected=entry.get("counts", {}).get("rejected", 0)))
                    self._remember_seed_records(context, index, name, None)
                    if name in selected:
                        self._check_loss(name, entry.get("lost", 0), entry.get("lost_detail", ""))
                    continue

                if records is None:
                    records = self._load_upstream(index)
                if stage.uses_generator:
                    context.generator = self._get_generator()
                    context.generator.usage = Usage()
                    context.generator.stage = name
                manifest["stages"][name] = {"status": "running", "fingerprint": fingerprint, "started_at": _now()}
                self.run_dir.write_manifest(manifest)

                started = time.monotonic()
                result: StageResult = stage.run(records)
                wall = time.monotonic() - started
                kept_sha = self.run_dir.write_stage(index, name, result.kept, result.rejected, result.stats)
                if hasattr(stage, "write_artifacts"):
                    stage.write_artifacts(result, self.run_dir.root)
                usage = context.generator.usage.snapshot() if stage.uses_generator and context.generator else {}
                lost, lost_detail = lost_records(stage, len(records), result, usage)
                manifest["stages"][name] = {
                    "status": "done", "fingerprint": fingerprint, "kept_sha256": kept_sha,
                    "counts": {"in": len(records), "kept": len(result.kept), "rejected": len(result.rejected)},
                    "rejections_by_reason": result.rejection_counts(),
                    "wall_s": round(wall, 3), "usage": usage, "stats": result.stats, "finished_at": _now(),
                }
                if lost:
                    manifest["stages"][name].update(lost=lost, lost_detail=lost_detail)
                manifest["totals"] = summary.totals = self._totals(manifest)
                manifest["updated_at"] = _now()
                self.run_dir.write_manifest(manifest)
                summary.stages.append(StageReport(name, "ran", len(records), len(result.kept),
                                                  len(result.rejected), wall, usage, lost))
                # After the outputs are safely written: a rerun with --allow-loss goes on from here.
                self._check_loss(name, lost, lost_detail)
                self._remember_seed_records(context, index, name, result.kept)
                records, upstream_sha = result.kept, kept_sha
        except KeyboardInterrupt:
            self.run_dir.write_manifest(manifest)
            raise RunInterrupted("interrupted: every answer that arrived is saved in the cache; run the same "
                                 "command again to resume") from None
        finally:
            self.close()
            context.executor.close()
        summary.totals = manifest.get("totals") or self._totals(manifest)
        return summary

    def _check_loss(self, name: str, lost: int, detail: str) -> None:
        if lost and not self.allow_loss:
            raise DataLossError(f"stage '{name}' lost {lost} records without a recorded reason ({detail}): "
                                "this is a bug in the stage; its outputs are saved, rerun with --allow-loss "
                                "to continue anyway", path=self.run_dir.kept_path(STAGE_NAMES.index(name), name))

    def dry_run(self, stages: list[str] | None = None, start: str | None = None, stop: str | None = None
                ) -> RunSummary:
        """Run the selected stages on a temporary copy of the run directory with placeholder answers: the
        real run directory and cache are never touched and nothing goes to the network."""
        from pipeline.generators.cache import ResponseCache
        from pipeline.generators.dry_run import DryRunGenerator

        select_stages(stages, start, stop)  # bad names fail before any copying
        gen_cfg = self.config.generator
        with tempfile.TemporaryDirectory(prefix="instruct-pipeline-dry-run-") as tmp:
            config = self.config.model_copy(update={
                "output_dir": tmp, "generator": gen_cfg.model_copy(update={"cache_path": None})})
            copy = config.run_dir
            if self.run_dir.root.is_dir():
                shutil.copytree(self.run_dir.root, copy, ignore=shutil.ignore_patterns("cache.sqlite*"))
            copy.mkdir(parents=True, exist_ok=True)
            cache = None
            if gen_cfg.cache and self.use_cache:
                source = Path(gen_cfg.cache_path) if gen_cfg.cache_path else self.run_dir.root / "cache.sqlite"
                if source.exists():
                    _copy_sqlite(source, copy / "cache.sqlite")
                cache = ResponseCache(copy / "cache.sqlite")
            generator = DryRunGenerator(gen_cfg, cache, failure_log=copy / "failed_requests.jsonl")
            inner = Runner(config, force=self.force, generator=generator, allow_loss=True)
            try:
                summary = inner.run(stages=stages, start=start, stop=stop)
            finally:
                generator.close()
        summary.run_dir = str(self.run_dir.root)
        summary.dry_run = generator.plans
        return summary

    def _preflight(self, selected: list[str], context: StageContext) -> None:
        """Fail before any work when a stage that will need a model has no usable generator settings."""
        if self._generator is not None:
            return
        needs = [cls.name for cls in STAGES if cls.name in selected and self.config.stage_config(cls.name).enabled
                 and cls(self.config.stage_config(cls.name), context).uses_generator]
        if not needs:
            return
        if self.config.generator.backend == "openai":
            from pipeline.generators.openai_backend import resolve_api_key

            resolve_api_key(self.config.generator)
        elif not self.config.generator.model_dir:
            raise ConfigError("generator.backend=transformers needs generator.model_dir (a local model directory)")

    def _remember_seed_records(self, context: StageContext, index: int, name: str,
                               kept: list[Record] | None) -> None:
        if name != "seeds":
            return
        context.seed_records = kept if kept is not None else self.run_dir.read_kept(index, name)

    def _load_upstream(self, index: int) -> list[Record]:
        """Kept records of the nearest earlier enabled stage (empty for the first stage)."""
        for j in range(index - 1, -1, -1):
            name = STAGES[j].name
            if self.config.stage_config(name).enabled:
                return self.run_dir.read_kept(j, name)
        return []

    def _totals(self, manifest: dict[str, Any]) -> dict[str, Any]:
        prompt = completion = requests = cached = failed = retries = 0
        for entry in manifest["stages"].values():
            total = entry.get("usage", {}).get("total", {})
            prompt += total.get("prompt_tokens", 0)
            completion += total.get("completion_tokens", 0)
            requests += total.get("requests", 0)
            cached += total.get("cached", 0)
            failed += total.get("failed", 0)
            retries += total.get("retries", 0)
        price = self.config.generator.prices.get(self.config.generator.model)
        return {"requests": requests, "cached": cached, "failed": failed, "retries": retries,
                "prompt_tokens": prompt, "completion_tokens": completion,
                "estimated_cost_usd": estimate_cost(prompt, completion, price)}


def _copy_sqlite(source: Path, dest: Path) -> None:
    """Copy the database and its write-ahead log as files: even a read-only SQLite connection would
    create -shm/-wal files beside the real cache, and a dry run leaves the run directory as it was."""
    shutil.copyfile(source, dest)
    wal = source.with_name(source.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, dest.with_name(dest.name + "-wal"))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
