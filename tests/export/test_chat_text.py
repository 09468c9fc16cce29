"""Chat templates: golden renderings, `{% generation %}` spans, and transformers' assistant mask with our files."""

from __future__ import annotations

import pytest

from pipeline.errors import TemplateError
from pipeline.export.chat_text import BUILTIN_TEMPLATES, ChatRenderer, chat_template_source
from pipeline.export.tokens import TokenCounter

CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Spain?"},
    {"role": "assistant", "content": "Madrid."},
]

GOLDEN = {
    "chatml": (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nCapital of France?<|im_end|>\n"
        "<|im_start|>assistant\nParis.<|im_end|>\n"
        "<|im_start|>user\nAnd of Spain?<|im_end|>\n"
        "<|im_start|>assistant\nMadrid.<|im_end|>\n"
    ),
    "llama3": (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nAnd of Spain?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nMadrid.<|eot_id|>"
    ),
    "alpaca": (
        "Be brief.\n\n"
        "### Instruction:\nCapital of France?\n\n"
        "### Response:\nParis.</s>\n\n"
        "### Instruction:\nAnd of Spain?\n\n"
        "### Response:\nMadrid.</s>\n\n"
    ),
}
END_OF_TURN = {"chatml": "<|im_end|>", "llama3": "<|eot_id|>", "alpaca": "</s>"}


@pytest.mark.parametrize("name", BUILTIN_TEMPLATES)
def test_golden_rendering_and_generation_spans(name):
    text, spans = ChatRenderer(name).render_with_spans(CHAT)
    assert text == GOLDEN[name]
    assert [text[a:b] for a, b in spans] == [f"Paris.{END_OF_TURN[name]}", f"Madrid.{END_OF_TURN[name]}"]


def test_generation_prompt_and_default_alpaca_preamble():
    assert ChatRenderer("chatml").render(CHAT[1:2], add_generation_prompt=True) == \
        "<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n"
    assert ChatRenderer("alpaca").render(CHAT[1:3]) == (
        "Here is a task to carry out. Write a reply that does what it asks.\n\n"
        "### Instruction:\nCapital of France?\n\n### Response:\nParis.</s>\n\n")


def test_unknown_template_and_broken_template_are_clear_errors(tmp_path):
    with pytest.raises(TemplateError, match="not found"):
        ChatRenderer("vicuna")
    bad = tmp_path / "bad.j2"
    bad.write_text("{% for m in messages %}{{ m.content }")
    with pytest.raises(TemplateError, match="syntax error"):
        ChatRenderer(str(bad)).check()


def _tiny_tokenizer(template: str):
    """A word-level tokenizer trained on the spot (no download), our template as its chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>",
                "<|end_header_id|>", "<|eot_id|>", "</s>"]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    words = "system user assistant ### Instruction : Response Here is a task to carry out . Write reply that"
    corpus = [m["content"] for m in CHAT] + [words]
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=specials))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<|begin_of_text|>",
                                   eos_token=END_OF_TURN.get(template, "</s>"), chat_template=
                                   chat_template_source(template), additional_special_tokens=specials[1:])


@pytest.mark.parametrize("name", BUILTIN_TEMPLATES)
def test_transformers_assistant_mask_covers_exactly_the_assistant_turns(name):
    tokenizer = _tiny_tokenizer(name)
    out = tokenizer.apply_chat_template(CHAT, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    assert len(ids) == len(mask) and sum(mask) > 0
    eot = tokenizer.convert_tokens_to_ids(END_OF_TURN[name])
    expected = []
    for reply in ("Paris.", "Madrid."):
        expected += tokenizer(reply, add_special_tokens=False)["input_ids"] + [eot]
    assert [i for i, m in zip(ids, mask) if m] == expected
    # And the text transformers renders is ours, token for token.
    ours = ChatRenderer(name)
    ours.tokens = {"bos_token": tokenizer.bos_token, "eos_token": tokenizer.eos_token}
    assert tokenizer.apply_chat_template(CHAT, tokenize=False) == ours.render(CHAT)


def test_tokenizer_directory_renders_with_its_own_template(tmp_path):
    tokenizer = _tiny_tokenizer("chatml")
    tokenizer.save_pretrained(tmp_path / "tok")
    renderer = ChatRenderer(str(tmp_path / "tok"))
    assert renderer.render(CHAT) == GOLDEN["chatml"]
    # The validator's --tokenizer counts exactly the tokens of the rendered chat.
    counter = TokenCounter(str(tmp_path / "tok"))
    assert counter.count(CHAT) == len(tokenizer(GOLDEN["chatml"], add_special_tokens=False)["input_ids"]) == 30
