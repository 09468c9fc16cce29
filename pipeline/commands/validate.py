"""`instruct-pipeline validate FILE`: check an export line by line; exit 1 when anything is wrong."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.errors import InputDataError
from pipeline.export.tokens import TokenCounter
from pipeline.export.validator import DEFAULT_MAX_TOKENS, FORMATS, ValidationReport, validate_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("validate", help="check an export file (OpenAI chat, ShareGPT, Alpaca, text JSONL)")
    parser.add_argument("file", help="a .jsonl (or Alpaca .json array) file to check")
    parser.add_argument("--format", choices=FORMATS, default="auto",
                        help="the file's format (default: detected from the first row)")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                        help=f"flag examples estimated over this many tokens (default {DEFAULT_MAX_TOKENS})")
    parser.add_argument("--tokenizer", metavar="DIR",
                        help="count tokens with this local tokenizer directory instead of the 4-chars estimate")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise InputDataError("file not found: give a .jsonl or .json export file", path=path)
    report = validate_file(path, args.format, args.max_tokens, TokenCounter(args.tokenizer))
    out = Console(highlight=False, soft_wrap=True)
    for p in report.problems:
        out.print(f"{escape(report.path)}:{p.line}: [bold]{p.code}[/] {escape(p.message)}")
    print_summary(report, Console(stderr=True, highlight=False))
    return 0 if report.ok else 1


def print_summary(report: ValidationReport, console: Console) -> None:
    table = Table(title=f"{report.path} ({report.format})", show_header=False)
    table.add_row("examples", str(report.examples))
    if report.tokens:
        over = sum(1 for n in report.tokens if n > report.max_tokens)
        table.add_row("tokens", f"max {max(report.tokens):,}, mean {sum(report.tokens) / len(report.tokens):,.0f}, "
                                f"{over} over {report.max_tokens:,} ({report.token_method})")
    counts = report.counts()
    table.add_row("problems", str(len(report.problems)))
    for code, n in counts.items():
        table.add_row(f"  {code}", str(n))
    lines_with = len({p.line for p in report.problems})
    table.add_row("result", "[green]ok[/]" if report.ok else f"[red]{lines_with} line(s) with problems[/]")
    console.print(table)
