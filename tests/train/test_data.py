"""Rendering and label masking: only assistant tokens (end-of-turn included) are supervised."""

from __future__ import annotations

import json

import pytest

from pipeline.errors import InputDataError
from pipeline.train.data import (
    IGNORE,
    load_conversations,
    render_conversation,
    row_to_messages,
    tokenize_conversations,
)

TWO_TURNS = [{"role": "system", "content": "You are terse."},
             {"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."},
             {"role": "user", "content": "And a fruit?"}, {"role": "assistant", "content": "Apple, of course."}]
EOT = {"chatml": "<|im_end|>", "llama3": "<|eot_id|>"}


def _tok(tiny_dirs, name):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_dirs[name])


def _runs(labels):
    runs, cur = [], []
    for t in labels:
        if t != IGNORE:
            cur.append(t)
        elif cur:
            runs.append(cur)
            cur = []
    return runs + ([cur] if cur else [])


@pytest.mark.parametrize("template", ["chatml", "llama3"])
@pytest.mark.parametrize("with_system", [True, False])
def test_labels_are_exactly_the_assistant_answers(tiny_dirs, template, with_system):
    tok = _tok(tiny_dirs, template)
    messages = TWO_TURNS if with_system else TWO_TURNS[1:]
    ids, labels = render_conversation(tok, messages)
    assert len(ids) == len(labels)
    assert [tok.decode(r) for r in _runs(labels)] == [f"Blue.{EOT[template]}", f"Apple, of course.{EOT[template]}"]
    assert all(lab in (IGNORE, i) for i, lab in zip(ids, labels))


def test_prefix_fallback_matches_generation_blocks(tiny_dirs):
    tok = _tok(tiny_dirs, "chatml")
    ids, labels = render_conversation(tok, TWO_TURNS)
    tok.chat_template = tok.chat_template.replace("{%- generation -%}", "").replace("{%- endgeneration -%}", "")
    assert "{%- generation" not in tok.chat_template
    assert render_conversation(tok, TWO_TURNS) == (ids, labels)


def test_weight_zero_turn_is_not_supervised(tiny_dirs):
    tok = _tok(tiny_dirs, "chatml")
    messages = [dict(m) for m in TWO_TURNS]
    messages[2]["weight"] = 0
    _, labels = render_conversation(tok, messages)
    assert [tok.decode(r) for r in _runs(labels)] == ["Apple, of course.<|im_end|>"]


@pytest.mark.parametrize("template", ["chatml", "llama3"])
def test_prompt_is_token_prefix_and_one_bos_at_most(tiny_dirs, template):
    tok = _tok(tiny_dirs, template)
    for cut in (2, 4):  # before each assistant turn
        prompt = list(tok.apply_chat_template(TWO_TURNS[:cut], add_generation_prompt=True, tokenize=True,
                                              return_dict=True)["input_ids"])
        ids, labels = render_conversation(tok, TWO_TURNS)
        assert ids[:len(prompt)] == prompt
        assert labels[len(prompt)] != IGNORE  # supervision starts right where generation starts
    assert ids.count(tok.bos_token_id) == (1 if template == "llama3" else 0)
    data = tokenize_conversations(tok, [TWO_TURNS], max_length=512)
    assert data.samples[0].ids.count(tok.bos_token_id) == ids.count(tok.bos_token_id)


def test_targets_are_shifted_labels(tiny_dirs):
    tok = _tok(tiny_dirs, "chatml")
    ids, labels = render_conversation(tok, TWO_TURNS)
    sample = tokenize_conversations(tok, [TWO_TURNS], max_length=512).samples[0]
    assert sample.ids == ids and sample.targets == labels[1:] + [IGNORE]


def test_zero_supervised_after_truncation_is_counted_and_dropped(tiny_dirs):
    tok = _tok(tiny_dirs, "chatml")
    long_prompt = [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]
    empty = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]
    data = tokenize_conversations(tok, [TWO_TURNS, long_prompt, empty], max_length=100)
    assert data.n_conversations == 3 and len(data.samples) == 2
    assert data.n_truncated == 1
    # The empty answer still supervises its end-of-turn token (the model must learn to stop).
    assert data.n_zero_supervised == 1 and data.dropped_examples == [1]
    assert all(s.n_supervised > 0 for s in data.samples)


def test_reads_messages_sharegpt_alpaca(tmp_path):
    rows = [{"messages": TWO_TURNS[1:3]},
            {"conversations": [{"from": "human", "value": "Name a colour."}, {"from": "gpt", "value": "Blue."}]},
            {"instruction": "Name a colour.", "input": "", "output": "Blue."}]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    convs = load_conversations(path)
    assert convs == [TWO_TURNS[1:3]] * 3
    assert row_to_messages({"instruction": "Add.", "input": "2 3", "output": "5"})[0]["content"] == "Add.\n\n2 3"
    path.write_text('{"text": "no"}\n')
    with pytest.raises(InputDataError, match="mixed.jsonl:1"):
        load_conversations(path)


def test_reads_datasets_directory(tmp_path):
    import datasets

    datasets.Dataset.from_list([{"messages": TWO_TURNS[1:3]}]).save_to_disk(str(tmp_path / "ds"))
    assert load_conversations(tmp_path / "ds") == [TWO_TURNS[1:3]]
