"""The offline demo: train a tiny model on our seeds, use it as the generator for every stage, then
fine-tune again on the result. Its text is poor by design; the point is seeing every part work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import PipelineConfig, load_config
from pipeline.runner import Runner, RunSummary
from pipeline.train.config import TrainConfig
from pipeline.train.loop import TrainResult, train

# Small enough for a few minutes on 2 CPU cores. Every stage runs; budgets cap the model calls.
_PIPELINE = [
    "generator.backend=transformers", "generator.model=demo-tiny", "generator.batch_size=16",
    "generator.max_tokens=48",
    "self_instruct.target_tasks=8", "self_instruct.max_requests=8", "self_instruct.batch_size=8",
    "self_instruct.bootstrap_sampling.max_tokens=256", "self_instruct.instance_sampling.max_tokens=128",
    "evol_instruct.rounds=2", "evol_instruct.max_roots=8",
    "evol_instruct.evolve_sampling.max_tokens=128", "evol_instruct.respond_sampling.max_tokens=96",
    # The judge runs and its scores are kept; a tiny model's verdicts are not worth dropping records over.
    "quality.judge.enabled=true", "quality.judge.threshold=1", "quality.judge.on_unparseable=keep",
    "quality.judge.sampling.max_tokens=16",
    "format.exports=[openai,sharegpt,alpaca_jsonl,parquet,hf_disk]",
]


@dataclass
class DemoResult:
    root: Path
    seed_model: TrainResult
    run: RunSummary
    final_model: TrainResult


def _train(data: Path, out: Path, steps: int, model: str = "tiny") -> TrainResult:
    cfg = TrainConfig(data=str(data), model=model, out_dir=str(out), max_steps=steps, lr=3e-3,
                      warmup_ratio=0.05, batch_size=8, max_length=512, eval_every=max(1, steps // 4),
                      log_every=max(1, steps // 10))
    return train(cfg)


def demo_config(root: Path, model_dir: Path | None, extra: list[str] | None = None) -> PipelineConfig:
    items = [f"output_dir={root}", "run_name=pipeline"] + _PIPELINE
    if model_dir is not None:
        items.append(f"generator.model_dir={model_dir}")
    return load_config(None, items + list(extra or []))


def seed_export(root: Path) -> Path:
    """Our seeds through the format stage alone: the first model's training data, in our own export."""
    cfg = load_config(None, [f"output_dir={root}", "run_name=seeds", "self_instruct.enabled=false",
                             "evol_instruct.enabled=false", "dedup.enabled=false", "quality.enabled=false",
                             "format.exports=[openai]", "format.validation_ratio=0.05", "report=false"])
    Runner(cfg).run()
    return cfg.run_dir / "export" / "openai" / "train.jsonl"


def run_demo(root: str | Path, train_steps: int = 300, extra: list[str] | None = None) -> DemoResult:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own bars already show progress
    hf_logging.set_verbosity_error()
    root = Path(root)
    data = seed_export(root)
    seed_model = _train(data, root / "model-seeds", train_steps)
    config = demo_config(root, Path(seed_model.final_dir), extra)
    summary = Runner(config).run()
    from pipeline.report import write_report

    write_report(config.run_dir)
    export = config.run_dir / "export" / "openai" / "train.jsonl"
    final_model = _train(export, root / "model-final", max(10, train_steps // 3))
    return DemoResult(root=root, seed_model=seed_model, run=summary, final_model=final_model)
