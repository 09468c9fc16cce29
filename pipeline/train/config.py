"""The `train:` config section: model, data, optimisation and checkpointing of the bundled SFT trainer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.config_base import StrictModel


class TinyModelConfig(StrictModel):
    """`model: tiny`: a byte-level BPE tokenizer trained on the data and a random Llama built from config."""

    vocab_size: int = Field(512, ge=300)  # 256 byte symbols + specials + merges
    hidden_size: int = Field(64, ge=8)
    layers: int = Field(2, ge=1)
    heads: int = Field(4, ge=1)


class LoraConfig(StrictModel):
    enabled: bool = False
    # LoRA paper (Hu et al., 2021) used r=8 on attention projections; alpha=2r is the common PEFT choice.
    r: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.05, ge=0, le=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


class TrainConfig(StrictModel):
    # Data: the JSONL written by the format stage (OpenAI messages, ShareGPT or Alpaca) or a datasets dir.
    data: str | None = None
    val_fraction: float = Field(0.05, ge=0, lt=1)
    max_length: int = Field(1024, ge=8)
    packing: bool = True
    # Used only when the tokenizer has no chat template of its own (prompts/chat/<name>.j2).
    chat_template: str = "chatml"
    # Model: a local causal-LM directory, or "tiny".
    model: str = "tiny"
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig)
    lora: LoraConfig = Field(default_factory=LoraConfig)
    out_dir: str = "output/train"
    # Optimisation. lr 2e-5 and 3 epochs, cosine with 3% warmup, are Alpaca's full fine-tuning recipe
    # (Taori et al., 2023); a from-scratch tiny model wants far more (e.g. lr 3e-3).
    epochs: float = Field(3.0, gt=0)
    max_steps: int | None = Field(None, ge=1)  # overrides epochs when set
    batch_size: int = Field(8, ge=1)  # rows per micro-batch
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(2e-5, gt=0)
    min_lr_ratio: float = Field(0.0, ge=0, le=1)
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = Field(1.0, ge=0)  # 0 disables clipping
    seed: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # Evaluation, logging and checkpoints (steps are optimiser steps).
    eval_every: int = Field(50, ge=1)
    log_every: int = Field(10, ge=1)
    save_every: int | None = Field(None, ge=1)  # None: only the final checkpoint
