"""`instruct-pipeline demo`: the whole loop offline on a tiny model, no API key needed."""

from __future__ import annotations

import argparse

from rich.console import Console

from pipeline.commands.run import print_summary


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="run every stage and the trainer offline on a tiny model (a few minutes)")
    parser.add_argument("--out", default="output/demo", help="where the demo writes everything")
    parser.add_argument("--train-steps", type=int, default=300,
                        help="optimiser steps for the tiny model trained on the seeds")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a pipeline config field for the demo run")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    console = Console(stderr=True, highlight=False)
    console.print("[bold]demo[/]: 1) our seeds -> export -> a tiny model trained from scratch on CPU; "
                  "2) that model generates for every stage (Self-Instruct, Evol-Instruct, judge); "
                  "3) dedup, filters, exports, report; 4) fine-tune again on the result.")
    console.print("[yellow]The tiny model writes poor text: this shows the machinery, not data quality. "
                  "Plug in a real model with `instruct-pipeline run --base-url ... --model ...`.[/]")
    result = run_demo(args.out, train_steps=args.train_steps, extra=args.overrides)
    print_summary(result.run)
    run_dir = result.root / "pipeline"
    console.print(f"seed model:  {result.seed_model.final_dir} (loss {result.seed_model.train_loss:.3f}, "
                  f"{result.seed_model.wall_s:.0f}s)")
    console.print(f"run:         {run_dir} (manifest.json, stages/, export/, report.html)")
    console.print(f"final model: {result.final_model.final_dir} (loss {result.final_model.train_loss:.3f}, "
                  f"{result.final_model.wall_s:.0f}s)")
    return 0
