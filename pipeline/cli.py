"""Command-line entry point: parses arguments, runs a subcommand, prints user errors as one line."""

from __future__ import annotations

import argparse
import importlib
import sys

from rich.console import Console
from rich.markup import escape

from pipeline import __version__
from pipeline.errors import PipelineError, redact_secrets

COMMANDS = ("run", "config_cmd", "validate", "report", "train", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="instruct-pipeline",
        description="Build clean, deduplicated, training-ready SFT datasets (Self-Instruct, Evol-Instruct, "
                    "dedup, quality filters, export) and prove they train.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"pipeline.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return int(args.func(args) or 0)
    except PipelineError as exc:
        if args.debug:
            raise
        err.print(f"[bold red]error:[/] {escape(exc.one_line())}", markup=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted: run the same command again to resume (answers already received are cached)")
        return 130
    except OSError as exc:  # a disk or permission problem the code did not foresee: still one line
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        err.print(f"[bold red]error:[/] {escape(redact_secrets(where + (exc.strerror or str(exc))))}", markup=True)
        return 2
    except Exception as exc:  # a bug, not a bad input: say so in one line, keep the traceback for --debug
        if args.debug:
            raise
        message = redact_secrets(" ".join(f"{type(exc).__name__}: {exc}".split()))[:300]
        err.print(f"[bold red]internal error:[/] {escape(message)} (rerun with --debug for the traceback and "
                  "report it)", markup=True)
        return 1
