"""Builds a small random Llama-style model with a byte-level BPE tokenizer trained on given texts, offline."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import PipelineError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"

# Per chat template: (bos, end-of-turn, pad). The end-of-turn token doubles as the tokenizer's eos so that
# generation stops where an assistant turn ends (as Qwen's chat tokenizers do).
TEMPLATE_TOKENS: dict[str, tuple[str, str, str]] = {
    "chatml": ("<s>", "<|im_end|>", "<pad>"),
    "llama3": ("<|begin_of_text|>", "<|eot_id|>", "<|finetune_right_pad_id|>"),
}

# Used only while prompts/chat/<name>.j2 does not exist; the files in prompts/chat/ win when present.
_FALLBACK_TEMPLATES = {
    "chatml": (
        "{{- bos_token }}"
        "{%- for message in messages %}"
        "{%- if message['role'] == 'assistant' %}"
        "{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message['content'] + '<|im_end|>' }}"
        "{% endgeneration %}{{- '\\n' }}"
        "{%- else %}"
        "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
        "{%- endif %}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
    ),
    "llama3": (
        "{{- bos_token }}"
        "{%- for message in messages %}"
        "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
        "{%- if message['role'] == 'assistant' %}"
        "{% generation %}{{- message['content'] + '<|eot_id|>' }}{% endgeneration %}"
        "{%- else %}{{- message['content'] + '<|eot_id|>' }}{%- endif %}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
    ),
}

_SPECIAL = re.compile(r"<\|[A-Za-z0-9_]+\|>")


def load_chat_template(name: str, prompts_dir: str | Path | None = None) -> str:
    """The Jinja2 text of prompts/chat/<name>.j2 (our own templates, with {% generation %} blocks)."""
    path = Path(prompts_dir or PROMPTS_DIR) / "chat" / f"{name}.j2"
    if path.exists():
        return path.read_text(encoding="utf-8")
    if name in _FALLBACK_TEMPLATES:
        return _FALLBACK_TEMPLATES[name]
    raise PipelineError(f"no chat template '{name}': add prompts/chat/{name}.j2 or use chatml / llama3")


def template_special_tokens(name: str, template: str) -> tuple[str, str, str, list[str]]:
    """(bos, end-of-turn, pad, all special tokens) for a template: its <|...|> markers plus bos/eos/pad."""
    bos, eot, pad = TEMPLATE_TOKENS.get(name, ("<s>", "</s>", "<pad>"))
    found = _SPECIAL.findall(template)
    specials = list(dict.fromkeys([bos, eot, pad, *found]))
    return bos, eot, pad, specials


def train_bpe_tokenizer(texts: list[str], vocab_size: int, specials: list[str]):
    """A byte-level BPE `tokenizers.Tokenizer` trained on texts (every byte is in the base alphabet)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, min_frequency=2, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def build_tiny_model(texts: list[str], out_dir: str | Path, *, vocab_size: int = 512, hidden_size: int = 64,
                     layers: int = 2, heads: int = 4, chat_template: str = "chatml", seed: int = 0,
                     max_positions: int = 2048, prompts_dir: str | Path | None = None) -> Path:
    """Train a tokenizer on `texts`, build a random LlamaForCausalLM, save both (with chat template) to out_dir."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    if not texts:
        raise PipelineError("--model tiny needs training texts to build its tokenizer: the data is empty")
    if hidden_size % heads:
        raise PipelineError(f"hidden_size {hidden_size} must be a multiple of heads {heads}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    template = load_chat_template(chat_template, prompts_dir)
    bos, eot, pad, specials = template_special_tokens(chat_template, template)
    raw = train_bpe_tokenizer(texts, vocab_size, specials)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token=bos, eos_token=eot, pad_token=pad,
        additional_special_tokens=[t for t in specials if t not in (bos, eot, pad)],
        model_max_length=max_positions, clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = template

    torch.manual_seed(seed)
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in (("bos", bos), ("eos", eot), ("pad", pad))}
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=4 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=max_positions, tie_word_embeddings=True,
        bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"],
    )
    # `transformers serve` loads the class named here.
    config.architectures = ["LlamaForCausalLM"]
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"])
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
