"""`instruct-pipeline config show`: the resolved config, secrets redacted."""

from __future__ import annotations

import argparse
import sys

from pipeline.commands.common import add_config_args, config_from_args
from pipeline.config import config_yaml


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="show the resolved configuration")
    inner = parser.add_subparsers(dest="config_command", required=True)
    show = inner.add_parser("show", help="print the resolved config as YAML (secrets redacted)")
    add_config_args(show)
    show.set_defaults(func=_show)


def _show(args: argparse.Namespace) -> int:
    sys.stdout.write(config_yaml(config_from_args(args)))
    return 0
