"""`instruct-pipeline run`: run the pipeline (or a slice of it) and print the run summary."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.commands.common import add_config_args, config_from_args
from pipeline.config import PipelineConfig
from pipeline.runner import Runner, RunSummary
from pipeline.stages.registry import STAGE_NAMES


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run the pipeline: " + " -> ".join(STAGE_NAMES))
    add_config_args(parser)
    parser.add_argument("--stages", help="comma-separated stages to run, e.g. dedup,quality")
    parser.add_argument("--from", dest="start", choices=STAGE_NAMES, help="first stage to run")
    parser.add_argument("--to", dest="stop", choices=STAGE_NAMES, help="last stage to run")
    parser.add_argument("--no-cache", action="store_true", help="bypass the response cache")
    parser.add_argument("--force", action="store_true", help="rerun stages even when unchanged")
    parser.add_argument("--sequential", action="store_true", help="one request at a time (debugging)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the first batch's prompts of each model stage and estimate requests, "
                             "tokens and cost, without calling the model or touching the run directory")
    parser.add_argument("--allow-loss", action="store_true",
                        help="do not fail when a stage drops records without a recorded reason")
    parser.add_argument("--executor", choices=("local", "ray"),
                        help="where dedup, quality and format run: this machine or Ray (shortcut for --set executor=...)")
    parser.add_argument("--ray-address", help="Ray cluster to join: auto, or ray://host:10001 (default: start a "
                                              "local Ray instance); implies --executor ray")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    args.overrides.extend(executor_overrides(args.executor, args.ray_address))
    config = config_from_args(args)
    runner = Runner(config, use_cache=not args.no_cache, force=args.force, sequential=args.sequential,
                    allow_loss=args.allow_loss)
    stages = [s.strip() for s in args.stages.split(",")] if args.stages else None
    if args.dry_run:
        summary = runner.dry_run(stages=stages, start=args.start, stop=args.stop)
        print_dry_run(summary, config)
        return 0
    summary = runner.run(stages=stages, start=args.start, stop=args.stop)
    print_summary(summary)
    if config.report and summary.ran:
        from pipeline.report import write_report

        path = write_report(runner.run_dir.root)
        if path is not None:
            Console(stderr=True).print(f"report: {path}")
    return 0


def executor_overrides(executor: str | None, ray_address: str | None) -> list[str]:
    """--executor / --ray-address as config overrides; an address alone means Ray."""
    items = [f"executor={executor}"] if executor else []
    if ray_address is not None:
        items.append(f"ray_address={ray_address}")
        if executor is None:
            items.append("executor=ray")
    return items


def print_summary(summary: RunSummary) -> None:
    console = Console(stderr=True)
    table = Table(title=f"run {summary.run_dir}")
    for col in ("stage", "status", "in", "kept", "rejected", "requests", "cached", "failed", "tokens", "time"):
        table.add_column(col, justify="left" if col in ("stage", "status") else "right")
    for s in summary.stages:
        total = s.usage.get("total", {})
        tokens = total.get("prompt_tokens", 0) + total.get("completion_tokens", 0)
        table.add_row(s.name, s.status, str(s.records_in or ""), str(s.kept or ""), str(s.rejected or ""),
                      str(total.get("requests", "")), str(total.get("cached", "")), str(total.get("failed", "")),
                      f"{tokens:,}" if tokens else "", f"{s.wall_s:.1f}s" if s.wall_s else "")
    console.print(table)
    totals = summary.totals or {}
    failed = totals.get("failed", 0)
    line = (f"requests: {totals.get('requests', 0)} ({totals.get('cached', 0)} cached, "
            f"{totals.get('retries', 0)} retries), {failed} failed for good")
    if failed:
        line += f": each is in {summary.run_dir}/failed_requests.jsonl and rejected as generation_failed"
    console.print(escape(line), highlight=False)


def print_dry_run(summary: RunSummary, config: PipelineConfig) -> None:
    """Prompts of each model stage's first batch on stdout; the estimate table on stderr."""
    plans = summary.dry_run or {}
    for name, plan in plans.items():
        sys.stdout.write(f"===== {name}: first batch, {len(plan.first_batch)} prompts =====\n")
        for i, prompt in enumerate(plan.first_batch):
            sys.stdout.write(f"----- {name} prompt {i + 1}/{len(plan.first_batch)} -----\n{prompt.rstrip()}\n")
    console = Console(stderr=True)
    price = config.generator.prices.get(config.generator.model)
    table = Table(title=f"dry run of {summary.run_dir} (nothing was sent or written)")
    for col in ("stage", "batches", "requests", "cached", "prompt tok", "completion tok", "cost USD"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    req = cached = p_tok = c_tok = 0
    for name, plan in plans.items():
        basis = "/".join(sorted(plan.completion_basis)) or "-"
        cost = plan.cost(config.generator)
        table.add_row(name, str(plan.batches), f"{plan.requests:,}", f"{plan.cached:,}", f"{plan.prompt_tokens:,}",
                      f"{plan.completion_tokens:,} ({basis})", "-" if cost is None else f"{cost:.4f}")
        req, cached = req + plan.requests, cached + plan.cached
        p_tok, c_tok = p_tok + plan.prompt_tokens, c_tok + plan.completion_tokens
    total_cost = None if price is None else (p_tok * price.input_per_mtok + c_tok * price.output_per_mtok) / 1e6
    table.add_row("total", "", f"{req:,}", f"{cached:,}", f"{p_tok:,}", f"{c_tok:,}",
                  "-" if total_cost is None else f"{total_cost:.4f}")
    console.print(table)
    if not plans:
        console.print("no stage in this selection calls the model: nothing to estimate")
    if price is None:
        console.print(escape(f"no price for model '{config.generator.model}': add generator.prices."
                             f"{config.generator.model}.input_per_mtok / output_per_mtok for a cost"))
    console.print("prompt tokens = characters/4 (+4 per chat message); completion tokens = mean of cached "
                  "answers for the step (cache) or max_tokens (max, an upper bound)")
