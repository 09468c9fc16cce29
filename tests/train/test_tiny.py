"""The tiny offline model: tokenizer with chat specials, random Llama, loadable with Auto* classes."""

from __future__ import annotations

import pytest

from pipeline.train.tiny import build_tiny_model

TEXTS = ["reverse the word apple", "sort these numbers: 3 1 2", "add 2 and 3", "HELLO WORLD"] * 20
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "add 2 and 3"},
            {"role": "assistant", "content": "5"}]


@pytest.mark.parametrize("template,eot", [("chatml", "<|im_end|>"), ("llama3", "<|eot_id|>")])
def test_tiny_model_loads_and_renders(tmp_path, template, eot):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = build_tiny_model(TEXTS, tmp_path / "tiny", chat_template=template, vocab_size=300)
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.architectures == ["LlamaForCausalLM"]
    assert tok.eos_token == eot and tok.pad_token_id is not None and tok.bos_token_id is not None
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids(eot)
    assert model.config.vocab_size == len(tok)
    prompt = tok.apply_chat_template(MESSAGES[:2], add_generation_prompt=True, tokenize=True)
    ids = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
    full = tok.apply_chat_template(MESSAGES, tokenize=True)
    full = list(full["input_ids"] if hasattr(full, "keys") else full)
    assert full[:len(ids)] == ids  # the prompt is a token prefix of the conversation
    # Llama 3 opens with one BOS; ChatML (Qwen style) has none. Never two.
    assert full.count(tok.bos_token_id) == (1 if template == "llama3" else 0)
    # Specials are single tokens, text round-trips through byte-level BPE.
    assert len(tok(eot, add_special_tokens=False)["input_ids"]) == 1
    assert tok.decode(tok("héllo wörld\n", add_special_tokens=False)["input_ids"]) == "héllo wörld\n"
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), len(tok))


def test_tiny_model_is_seeded(tmp_path):
    from transformers import AutoModelForCausalLM

    a = AutoModelForCausalLM.from_pretrained(build_tiny_model(TEXTS, tmp_path / "a", seed=3))
    b = AutoModelForCausalLM.from_pretrained(build_tiny_model(TEXTS, tmp_path / "b", seed=3))
    assert all((p == q).all() for p, q in zip(a.parameters(), b.parameters()))
