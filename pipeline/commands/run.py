"""`instruct-pipeline run`: run the pipeline (or a slice of it) and print the run summary."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from pipeline.commands.common import add_config_args, config_from_args
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
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    runner = Runner(config, use_cache=not args.no_cache, force=args.force, sequential=args.sequential)
    stages = [s.strip() for s in args.stages.split(",")] if args.stages else None
    summary = runner.run(stages=stages, start=args.start, stop=args.stop)
    print_summary(summary)
    if config.report and summary.ran:
        from pipeline.report import write_report

        path = write_report(runner.run_dir.root)
        if path is not None:
            Console(stderr=True).print(f"report: {path}")
    return 0


def print_summary(summary: RunSummary) -> None:
    console = Console(stderr=True)
    table = Table(title=f"run {summary.run_dir}")
    for col in ("stage", "status", "in", "kept", "rejected", "requests", "cached", "tokens", "time"):
        table.add_column(col, justify="left" if col in ("stage", "status") else "right")
    for s in summary.stages:
        total = s.usage.get("total", {})
        tokens = total.get("prompt_tokens", 0) + total.get("completion_tokens", 0)
        table.add_row(s.name, s.status, str(s.records_in or ""), str(s.kept or ""), str(s.rejected or ""),
                      str(total.get("requests", "")), str(total.get("cached", "")), f"{tokens:,}" if tokens else "",
                      f"{s.wall_s:.1f}s" if s.wall_s else "")
    console.print(table)
