"""The SFT training loop, top to bottom: arguments, device, model, data, loop, checkpoints."""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.progress import progress_bar
from pipeline.train.config import TrainConfig
from pipeline.train.data import IGNORE, load_conversations, tokenize_conversations
from pipeline.train.models import load_model, load_tokenizer, prepare_model_dir, save_checkpoint
from pipeline.train.packing import (
    Row,
    best_fit_pack,
    block_causal_mask,
    collate,
    padding_share,
    unpacked_rows,
)

log = logging.getLogger(__name__)
STATE_FILE = "trainer_state.pt"


@dataclass
class TrainResult:
    out_dir: str
    final_dir: str
    steps: int
    train_loss: float | None
    val_loss: float | None
    n_train: int
    n_val: int
    n_truncated: int
    n_zero_supervised: int
    padding_share_packed: float
    padding_share_unpacked: float
    tokens_per_s: float
    wall_s: float
    history: list[dict[str, Any]] = field(default_factory=list)


def pick_device(name: str) -> str:
    import torch

    if name != "auto":
        return name
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def loss_sum(model: Any, ids: Any, targets: Any, positions: Any) -> tuple[Any, int]:
    """Summed next-token cross-entropy over supervised targets, and their count.

    Position ids restart per sample and a block-diagonal causal mask keeps packed samples apart.
    """
    import torch.nn.functional as F

    eager = getattr(model.config, "_attn_implementation", "sdpa") == "eager"
    mask = block_causal_mask(positions, model.dtype if eager else None)
    logits = model(input_ids=ids, position_ids=positions, attention_mask=mask, use_cache=False).logits
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE, reduction="sum")
    return loss, int((targets != IGNORE).sum())


def accumulate_gradients(model: Any, micro_batches: list[tuple[Any, Any, Any]], autocast: Any) -> float:
    """Backward over micro-batches, each scaled by the step's total supervised-token count.

    Dividing by the count of the whole step (not per micro-batch) makes 4 micro-batches of 16 give the
    gradients of one batch of 64 even when micro-batches hold different numbers of answer tokens.
    """
    total = sum(int((t != IGNORE).sum()) for _, t, _ in micro_batches)
    if total == 0:
        return 0.0
    step_loss = 0.0
    for ids, targets, positions in micro_batches:
        with autocast():
            loss, _ = loss_sum(model, ids, targets, positions)
        (loss / total).backward()
        step_loss += float(loss.detach()) / total
    return step_loss


def evaluate(model: Any, rows: list[Row], batch_size: int, pad_id: int, device: str, autocast: Any) -> float | None:
    import torch

    if not rows:
        return None
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            ids, targets, positions, _ = collate(rows[start:start + batch_size], pad_id)
            with autocast():
                loss, n = loss_sum(model, ids.to(device), targets.to(device), positions.to(device))
            total += float(loss)
            count += n
    model.train()
    return total / max(count, 1)


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Linear warmup then cosine decay to min_lr_ratio * lr."""
    warmup = int(cfg.warmup_ratio * total)
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    floor = cfg.min_lr_ratio
    return cfg.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def make_batches(rows: list[Row], cfg: TrainConfig, total_steps: int) -> list[list[list[Row]]]:
    """Per optimiser step, its micro-batches of rows; rows are reshuffled (seeded) every pass over the data."""
    rng = random.Random(cfg.seed)
    per_step = cfg.batch_size * cfg.grad_accum
    steps: list[list[list[Row]]] = []
    while len(steps) < total_steps:
        order = list(range(len(rows)))
        rng.shuffle(order)
        for start in range(0, len(order), per_step):
            chunk = [rows[i] for i in order[start:start + per_step]]
            steps.append([chunk[k:k + cfg.batch_size] for k in range(0, len(chunk), cfg.batch_size)])
            if len(steps) == total_steps:
                break
    return steps


def _split(conversations: list, fraction: float, seed: int) -> tuple[list, list]:
    if fraction <= 0 or len(conversations) < 2:
        return conversations, []
    order = list(range(len(conversations)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(fraction * len(conversations)))
    return [conversations[i] for i in order[n_val:]], [conversations[i] for i in order[:n_val]]


def train(cfg: TrainConfig, *, resume: bool = False) -> TrainResult:
    """Fine-tune cfg.model on cfg.data and write checkpoints, metrics.jsonl and loss.png to cfg.out_dir."""
    import torch

    from pipeline.errors import PipelineError

    if not cfg.data:
        raise PipelineError("no training data: pass --data EXPORT.jsonl (the format stage's output)")
    # 1. Arguments and reproducibility.
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "train_config.json").write_text(cfg.model_dump_json(indent=2), encoding="utf-8")
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)

    # 2. Device: bf16 autocast on GPU, plain fp32 on CPU.
    device = pick_device(cfg.device)

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else \
            torch.autocast("cpu", enabled=False)

    # 3. Data and model.
    conversations = load_conversations(cfg.data)
    train_convs, val_convs = _split(conversations, cfg.val_fraction, cfg.seed)
    model_dir = prepare_model_dir(cfg, train_convs, out_dir)
    tokenizer = load_tokenizer(model_dir, cfg)
    train_data = tokenize_conversations(tokenizer, train_convs, cfg.max_length)
    val_data = tokenize_conversations(tokenizer, val_convs, cfg.max_length)
    if not train_data.samples:
        raise PipelineError(f"all {train_data.n_conversations} training conversations have no assistant token "
                            f"left after truncation to {cfg.max_length}: raise train.max_length")
    if train_data.n_zero_supervised:
        log.warning("dropped %d conversations with no supervised token after truncation to %d",
                    train_data.n_zero_supervised, cfg.max_length)
    packed = best_fit_pack(train_data.samples, cfg.max_length)
    unpacked = unpacked_rows(train_data.samples)
    rows = packed if cfg.packing else unpacked
    val_rows = best_fit_pack(val_data.samples, cfg.max_length) if cfg.packing else unpacked_rows(val_data.samples)
    pad_packed, pad_unpacked = padding_share(packed, cfg.batch_size), padding_share(unpacked, cfg.batch_size)

    steps_per_epoch = math.ceil(len(rows) / (cfg.batch_size * cfg.grad_accum))
    total_steps = cfg.max_steps or max(1, math.ceil(cfg.epochs * steps_per_epoch))
    schedule = make_batches(rows, cfg, total_steps)

    start_step, history = 0, []
    ckpt = _latest_checkpoint(out_dir) if resume else None
    model = load_model(ckpt if ckpt and not cfg.lora.enabled else model_dir, cfg, device,
                       adapter_dir=ckpt if ckpt and cfg.lora.enabled else None)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    if ckpt is not None:
        state = torch.load(ckpt / STATE_FILE, weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        start_step, history = state["step"], state["history"]
        torch.set_rng_state(state["torch_rng"])

    # 4. The loop.
    metrics = open(out_dir / "metrics.jsonl", "a" if ckpt else "w", encoding="utf-8")  # noqa: SIM115 (closed after the loop)
    t0, tokens_seen, last = time.perf_counter(), 0, {}
    with progress_bar(total_steps, "train", extra_fields=("loss", "tps"),
                      status="loss {task.fields[loss]}  {task.fields[tps]} tok/s") as bar:
        bar.advance(start_step)
        for step in range(start_step, total_steps):
            lr = lr_at(step, total_steps, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            micro = []
            for batch in schedule[step]:
                ids, targets, positions, n_pad = collate(batch, tokenizer.pad_token_id)
                tokens_seen += ids.numel() - n_pad
                micro.append((ids.to(device), targets.to(device), positions.to(device)))
            loss = accumulate_gradients(model, micro, autocast)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)) if cfg.grad_clip else None
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            elapsed = time.perf_counter() - t0
            tps = tokens_seen / max(elapsed, 1e-9)
            last = {"step": step + 1, "epoch": round((step + 1) / steps_per_epoch, 3), "lr": lr, "loss": loss,
                    "grad_norm": grad_norm, "tokens_per_s": round(tps, 1), "elapsed_s": round(elapsed, 2)}
            done = step + 1
            if done % cfg.eval_every == 0 or done == total_steps:
                last["val_loss"] = evaluate(model, val_rows, cfg.batch_size, tokenizer.pad_token_id, device,
                                            autocast)
            if done % cfg.log_every == 0 or "val_loss" in last or done == total_steps:
                history.append(last)
                metrics.write(json.dumps(last) + "\n")
                metrics.flush()
            bar.advance(1, loss=f"{loss:.3f}", tps=f"{tps:,.0f}")
            if cfg.save_every and done % cfg.save_every == 0 and done < total_steps:
                _save(model, tokenizer, optimizer, out_dir / f"checkpoint-{done}", done, history, cfg)
    metrics.close()

    # 5. Final checkpoint (merged when LoRA) and the loss plot.
    final = out_dir / "final"
    save_checkpoint(model, tokenizer, final, merge_lora=cfg.lora.enabled)
    _save(model, tokenizer, optimizer, out_dir / f"checkpoint-{total_steps}", total_steps, history, cfg)
    plot_losses(history, out_dir / "loss.png")
    wall = time.perf_counter() - t0
    result = TrainResult(
        out_dir=str(out_dir), final_dir=str(final), steps=total_steps, train_loss=last.get("loss"),
        val_loss=next((h["val_loss"] for h in reversed(history) if h.get("val_loss") is not None), None),
        n_train=len(train_data.samples), n_val=len(val_data.samples),
        n_truncated=train_data.n_truncated + val_data.n_truncated,
        n_zero_supervised=train_data.n_zero_supervised + val_data.n_zero_supervised,
        padding_share_packed=pad_packed, padding_share_unpacked=pad_unpacked,
        tokens_per_s=tokens_seen / max(wall, 1e-9), wall_s=wall, history=history)
    summary = {k: v for k, v in asdict(result).items() if k != "history"}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return result


def _save(model: Any, tokenizer: Any, optimizer: Any, path: Path, step: int, history: list, cfg: TrainConfig) -> None:
    import torch

    save_checkpoint(model, tokenizer, path)
    torch.save({"optimizer": optimizer.state_dict(), "step": step, "history": history,
                "torch_rng": torch.get_rng_state(), "config": cfg.model_dump(mode="json")}, path / STATE_FILE)


def _latest_checkpoint(out_dir: Path) -> Path | None:
    found = [(int(p.name.split("-")[1]), p) for p in out_dir.glob("checkpoint-*")
             if p.name.split("-")[1].isdigit() and (p / STATE_FILE).exists()]
    return max(found)[1] if found else None


def plot_losses(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    train_pts = [(h["step"], h["loss"]) for h in history if h.get("loss") is not None]
    val_pts = [(h["step"], h["val_loss"]) for h in history if h.get("val_loss") is not None]
    if train_pts:
        ax.plot(*zip(*train_pts), label="train")
    if val_pts:
        ax.plot(*zip(*val_pts), marker="o", label="validation")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss (assistant tokens)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
