"""Loads the model and tokenizer to fine-tune: a local directory, or `tiny` built from the data; LoRA optional."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.train.config import TrainConfig
from pipeline.train.tiny import build_tiny_model, load_chat_template


def conversation_texts(conversations: list[list[dict[str, Any]]]) -> list[str]:
    """The text the tiny tokenizer learns its merges from: every message content."""
    return [m["content"] for conv in conversations for m in conv if m.get("content")]


def prepare_model_dir(cfg: TrainConfig, conversations: list[list[dict[str, Any]]], out_dir: Path) -> Path:
    """The directory to start from: the given model, or a freshly built tiny model under out_dir/init."""
    if cfg.model == "tiny":
        init = out_dir / "init"
        if (init / "config.json").exists():  # resume or rerun: the same tokenizer and initial weights
            return init
        t = cfg.tiny
        return build_tiny_model(conversation_texts(conversations), init, vocab_size=t.vocab_size,
                                hidden_size=t.hidden_size, layers=t.layers, heads=t.heads,
                                chat_template=cfg.chat_template, seed=cfg.seed,
                                max_positions=max(cfg.max_length, 256))
    path = Path(cfg.model)
    if not (path / "config.json").exists():
        raise PipelineError(f"{path} is not a local model directory (no config.json): pass a directory with "
                            "config.json and tokenizer files, or --model tiny")
    return path


def load_tokenizer(model_dir: Path, cfg: TrainConfig) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if not getattr(tokenizer, "chat_template", None):
        # Base models ship without one: use ours so rendering and serving agree.
        tokenizer.chat_template = load_chat_template(cfg.chat_template)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model_dir: Path, cfg: TrainConfig, device: str, adapter_dir: Path | None = None) -> Any:
    """The model on `device` in fp32 (autocast gives bf16 compute on GPU); LoRA-wrapped when enabled."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    if cfg.lora.enabled:
        try:
            from peft import LoraConfig, PeftModel, get_peft_model
        except ImportError:
            raise PipelineError("LoRA needs peft: pip install -e '.[lora]'") from None
        if adapter_dir is not None:
            model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=True)
        else:
            lc = cfg.lora
            model = get_peft_model(model, LoraConfig(r=lc.r, lora_alpha=lc.alpha, lora_dropout=lc.dropout,
                                                     target_modules=lc.target_modules, task_type="CAUSAL_LM"))
    return model.to(device)


def save_checkpoint(model: Any, tokenizer: Any, path: Path, *, merge_lora: bool = False) -> Path:
    """Hugging Face format (weights, config, generation config, tokenizer with chat template)."""
    path.mkdir(parents=True, exist_ok=True)
    to_save = model
    if merge_lora and hasattr(model, "merge_and_unload"):
        import copy

        to_save = copy.deepcopy(model).merge_and_unload()
    to_save.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path
