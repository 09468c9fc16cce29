"""`instruct-pipeline train`: fine-tune a local model (or `tiny`) on an exported dataset."""

from __future__ import annotations

import argparse
import logging

from rich.console import Console

from pipeline.config import load_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="supervised fine-tuning on an exported dataset (the train: section)")
    parser.add_argument("--config", "-c", help="pipeline YAML config; its train: section is used")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a train field, e.g. --set train.lr=1e-4 (repeatable)")
    parser.add_argument("--data", help="exported JSONL (messages, ShareGPT or Alpaca) or a datasets directory")
    parser.add_argument("--model", help="a local causal-LM directory, or 'tiny' to build one offline")
    parser.add_argument("--out", help="output directory (checkpoints, final/, metrics.jsonl, loss.png)")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    parser.add_argument("--lora", action="store_true", help="train LoRA adapters (peft) instead of all weights")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pipeline.train.loop import train

    overrides = list(args.overrides)
    for flag, key in (("data", "train.data"), ("model", "train.model"), ("out", "train.out_dir"),
                      ("max_steps", "train.max_steps")):
        value = getattr(args, flag)
        if value is not None:
            overrides.append(f"{key}={value}")
    if args.lora:
        overrides.append("train.lora.enabled=true")
    cfg = load_config(args.config, overrides).train
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    console = Console(stderr=True, highlight=False)
    result = train(cfg, resume=args.resume)
    console.print(f"trained {result.steps} steps on {result.n_train} conversations "
                  f"({result.n_val} for validation) in {result.wall_s:.0f}s, {result.tokens_per_s:,.0f} tokens/s")
    console.print(f"loss {result.train_loss:.4f}" + (f", validation loss {result.val_loss:.4f}"
                                                      if result.val_loss is not None else ""))
    console.print(f"padding share: {result.padding_share_packed:.1%} packed, "
                  f"{result.padding_share_unpacked:.1%} unpacked"
                  + ("" if cfg.packing else " (packing off: training used the unpacked rows)"))
    if result.n_truncated or result.n_zero_supervised:
        console.print(f"[yellow]{result.n_truncated} conversations truncated to {cfg.max_length} tokens; "
                      f"{result.n_zero_supervised} dropped with no assistant token left[/]")
    console.print(f"model: {result.final_dir}  (metrics.jsonl, loss.png in {result.out_dir})")
    return 0
