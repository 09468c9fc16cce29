"""The training loop: loss on assistant tokens only, accumulation maths, schedule, checkpoints and resume."""

from __future__ import annotations

import contextlib
import itertools
import json
import random

import torch

from pipeline.train.config import TrainConfig
from pipeline.train.data import IGNORE, render_conversation, tokenize_conversations
from pipeline.train.loop import accumulate_gradients, loss_sum, lr_at, train
from pipeline.train.packing import collate, unpacked_rows
from pipeline.train.synthetic_tasks import make_split, write_messages_jsonl

MESSAGES = [{"role": "user", "content": "Reverse the word cat."}, {"role": "assistant", "content": "tac"}]


def test_changing_prompt_labels_leaves_loss_unchanged(tiny_chatml):
    model, tok = tiny_chatml
    _ids, labels = render_conversation(tok, MESSAGES)
    prompt_positions = [i for i, lab in enumerate(labels) if lab == IGNORE]
    sample = tokenize_conversations(tok, [MESSAGES], 128).samples[0]
    x, t, p, _ = collate(unpacked_rows([sample]), tok.pad_token_id)
    with torch.no_grad():
        base, n = loss_sum(model, x, t, p)
        # Corrupt the label of every prompt token, then mask the prompt again as render_conversation does.
        corrupted = [random.Random(i).randrange(len(tok)) if i in prompt_positions else lab
                     for i, lab in enumerate(labels)]
        remasked = [IGNORE if i in prompt_positions else lab for i, lab in enumerate(corrupted)]
        again, _ = loss_sum(model, x, torch.tensor([remasked[1:] + [IGNORE]]), p)
        # And the loss is exactly the mean over the answer tokens plus end-of-turn.
        logits = model(input_ids=x).logits[0]
        keep = t[0] != IGNORE
        manual = torch.nn.functional.cross_entropy(logits[keep], t[0][keep], reduction="sum")
    assert n == sum(lab != IGNORE for lab in labels) > 0
    assert torch.equal(base, again)
    assert torch.allclose(base, manual, rtol=1e-5)


def test_accumulation_4x16_equals_1x64(tiny_dirs):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dirs["chatml"])
    train_items, _ = make_split(64, 4, seed=1)
    samples = tokenize_conversations(tok, [it.messages() for it in train_items], 128).samples
    rows = unpacked_rows(samples)

    def grads(chunks):
        model = AutoModelForCausalLM.from_pretrained(tiny_dirs["chatml"])
        micro = [collate(rows[i:i + chunks], tok.pad_token_id)[:3] for i in range(0, 64, chunks)]
        accumulate_gradients(model, micro, contextlib.nullcontext)
        return [p.grad.clone() for p in model.parameters()]

    # Micro-batches hold different numbers of answer tokens: per-micro-batch means would not match.
    for a, b in zip(grads(16), grads(64)):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_schedule_warms_up_then_decays():
    cfg = TrainConfig(lr=1e-3, warmup_ratio=0.1)
    lrs = [lr_at(s, 100, cfg) for s in range(100)]
    assert lrs[0] == 1e-4 and abs(lrs[9] - 1e-3) < 1e-12 and lrs[-1] < 1e-5
    assert all(a >= b for a, b in itertools.pairwise(lrs[9:]))


def test_train_writes_metrics_plot_checkpoints_and_resumes(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    items, _ = make_split(80, 4, seed=0)
    data = write_messages_jsonl(items, tmp_path / "train.jsonl")
    cfg = TrainConfig(data=str(data), model="tiny", out_dir=str(tmp_path / "run"), max_length=128,
                      batch_size=4, lr=3e-3, max_steps=6, eval_every=3, log_every=1, save_every=3,
                      val_fraction=0.1, tiny={"vocab_size": 300, "hidden_size": 32, "layers": 1, "heads": 2})
    result = train(cfg)
    out = tmp_path / "run"
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[2]["val_loss"] is not None and lines[-1]["tokens_per_s"] > 0
    assert (out / "loss.png").stat().st_size > 0 and (out / "checkpoint-3").is_dir()
    assert result.padding_share_packed < result.padding_share_unpacked
    tok = AutoTokenizer.from_pretrained(result.final_dir)
    assert "generation" in tok.chat_template
    final = AutoModelForCausalLM.from_pretrained(result.final_dir)

    # Resume from checkpoint-3 reproduces the uninterrupted run's final weights.
    import shutil

    shutil.rmtree(out / "checkpoint-6")
    shutil.rmtree(out / "final")
    resumed = train(cfg, resume=True)
    again = AutoModelForCausalLM.from_pretrained(resumed.final_dir)
    for p, q in zip(final.parameters(), again.parameters()):
        assert torch.allclose(p, q, atol=1e-6)


def test_train_command(tmp_path, capsys):
    from pipeline.cli import main

    items, _ = make_split(40, 4, seed=0)
    data = write_messages_jsonl(items, tmp_path / "train.jsonl")
    rc = main(["train", "--data", str(data), "--model", "tiny", "--out", str(tmp_path / "run"), "--max-steps", "2",
               "--set", "train.max_length=128", "--set", "train.tiny.hidden_size=32", "--set", "train.tiny.layers=1",
               "--set", "train.batch_size=4"])
    assert rc == 0
    assert "padding share" in capsys.readouterr().err
    assert (tmp_path / "run" / "final" / "config.json").exists()
    assert main(["train", "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "x")]) == 2


def test_lora_trains_adapters_only_and_saves_a_merged_model(tiny_dirs, tmp_path):
    from transformers import AutoModelForCausalLM

    data = write_messages_jsonl(make_split(32, 2, seed=3)[0], tmp_path / "train.jsonl")
    cfg = TrainConfig(data=str(data), model=str(tiny_dirs["chatml"]), out_dir=str(tmp_path / "out"),
                      max_steps=3, lr=1e-2, batch_size=4, max_length=128, eval_every=3, log_every=1)
    cfg.lora.enabled = True
    cfg.lora.target_modules = ["q_proj", "v_proj"]
    result = train(cfg)
    base = AutoModelForCausalLM.from_pretrained(tiny_dirs["chatml"])
    merged = AutoModelForCausalLM.from_pretrained(result.final_dir)
    changed = {name for (name, a), (_, b) in zip(base.named_parameters(), merged.named_parameters())
               if not torch.equal(a, b)}
    # Only the adapted projections moved once the adapters were merged back into the weights.
    assert changed and all(name.endswith(("q_proj.weight", "v_proj.weight")) for name in changed)
