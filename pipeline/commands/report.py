"""`instruct-pipeline report RUN_DIR`: render a run's report.html with its figures and tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from pipeline.errors import RunDirectoryError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write RUN_DIR/report.html: funnel, verb-noun chart, lengths, "
                                           "ROUGE-L to seeds, languages, Evol-Instruct mix, usage and cost")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, e.g. output/run")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pipeline.report import write_report  # matplotlib loads only when a report is asked for

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise RunDirectoryError("not a directory: pass the run directory (output/<run-name>)", path=run_dir)
    path = write_report(run_dir)
    Console(highlight=False, soft_wrap=True).print(str(path))
    return 0
