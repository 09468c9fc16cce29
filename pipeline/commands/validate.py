"""`instruct-pipeline validate` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse

from pipeline.errors import PipelineError


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("validate", help="(not built yet)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    raise PipelineError("'validate' is not built yet")
