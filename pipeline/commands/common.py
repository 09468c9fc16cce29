"""Arguments shared by the subcommands that read a pipeline config."""

from __future__ import annotations

import argparse

from pipeline.config import PipelineConfig, load_config


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="pipeline YAML config (defaults apply without one)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set generator.model=gpt-4o-mini (repeatable)")
    parser.add_argument("--model", help="shortcut for --set generator.model=...")
    parser.add_argument("--base-url", help="shortcut for --set generator.base_url=...")
    parser.add_argument("--run-name", help="shortcut for --set run_name=...")
    parser.add_argument("--output-dir", help="shortcut for --set output_dir=...")


def config_from_args(args: argparse.Namespace) -> PipelineConfig:
    overrides = list(args.overrides)
    for flag, key in (("model", "generator.model"), ("base_url", "generator.base_url"),
                      ("run_name", "run_name"), ("output_dir", "output_dir")):
        value = getattr(args, flag, None)
        if value is not None:
            overrides.append(f"{key}={value}")
    return load_config(args.config, overrides)
