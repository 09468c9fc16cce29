"""Tokens/s of our SFT loop vs TRL's SFTTrainer on the same tiny model, data, batch and length; padding share."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from pipeline.train.config import TrainConfig
from pipeline.train.data import tokenize_conversations
from pipeline.train.loop import train
from pipeline.train.packing import best_fit_pack, padding_share, unpacked_rows
from pipeline.train.synthetic_tasks import make_split, write_messages_jsonl
from pipeline.train.tiny import build_tiny_model


def run_trl(model_dir: Path, items, args, out: Path, packing: bool) -> tuple[float, int]:
    """(seconds, real tokens seen) for TRL SFTTrainer, assistant-only loss, same hyperparameters."""
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ds = datasets.Dataset.from_list([{"messages": it.messages()} for it in items])
    cfg = SFTConfig(output_dir=str(out), max_length=args.max_length, packing=packing,
                    assistant_only_loss=True, per_device_train_batch_size=args.batch_size, max_steps=args.steps,
                    learning_rate=3e-3, lr_scheduler_type="cosine", warmup_steps=max(1, args.steps // 20), report_to="none",
                    save_strategy="no", logging_steps=10_000, use_cpu=True, seed=0, dataloader_num_workers=0)
    trainer = SFTTrainer(model=model, args=cfg, train_dataset=ds, processing_class=tok)
    seen = [0]
    collate = trainer.data_collator

    def counting(features):
        batch = collate(features)
        mask = batch.get("attention_mask")
        seen[0] += int(mask.sum()) if mask is not None and mask.dim() == 2 else int(batch["input_ids"].numel())
        return batch

    trainer.data_collator = counting
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start, seen[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    items, _ = make_split(args.items, 4, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = write_messages_jsonl(items, root / "train.jsonl")
        texts = [m["content"] for it in items for m in it.messages()]
        model_dir = build_tiny_model(texts, root / "tiny", vocab_size=320, hidden_size=args.hidden,
                                     layers=args.layers, heads=4)
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(model_dir)
        samples = tokenize_conversations(tok, [it.messages() for it in items], args.max_length).samples
        pad_unpacked = padding_share(unpacked_rows(samples), args.batch_size)
        pad_packed = padding_share(best_fit_pack(samples, args.max_length), args.batch_size)

        results = {}
        for packing in (False, True):
            secs, toks = run_trl(model_dir, items, args, root / f"trl_{packing}", packing)
            results[f"trl packing={packing}"] = toks / secs
            cfg = TrainConfig(data=str(data), model=str(model_dir), out_dir=str(root / f"ours_{packing}"),
                              max_length=args.max_length, batch_size=args.batch_size, max_steps=args.steps,
                              lr=3e-3, warmup_ratio=0.05, val_fraction=0, packing=packing, eval_every=10_000,
                              log_every=10_000)
            results[f"ours packing={packing}"] = train(cfg).tokens_per_s

    print(f"tiny model hidden={args.hidden} layers={args.layers}, {args.items} conversations, "
          f"batch {args.batch_size} x max_length {args.max_length}, {args.steps} steps, {args.threads} thread(s)")
    print(f"padding share: {pad_unpacked:.1%} without packing, {pad_packed:.1%} with packing (target <= 5%)")
    for packing in (False, True):
        trl, ours = results[f"trl packing={packing}"], results[f"ours packing={packing}"]
        print(f"packing={packing!s:5}  TRL SFTTrainer {trl:10,.0f} tok/s   ours {ours:10,.0f} tok/s   "
              f"ratio {ours / trl:.2f}x (target >= 1.0x)")
    print(json.dumps({k: round(v, 1) for k, v in results.items()}))


if __name__ == "__main__":
    main()
