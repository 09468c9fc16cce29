"""Packing: best-fit rows, per-sample positions, and no attention across sample boundaries."""

from __future__ import annotations

import random

import torch

from pipeline.train.data import IGNORE, Sample
from pipeline.train.loop import loss_sum
from pipeline.train.packing import best_fit_pack, block_causal_mask, collate, padding_share, unpacked_rows


def _samples(n, lo=5, hi=40, seed=0, vocab=300):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = rng.randint(lo, hi)
        ids = [rng.randrange(10, vocab) for _ in range(length)]
        targets = [IGNORE] * (length // 2) + ids[length // 2 + 1:] + [IGNORE]
        out.append(Sample(ids, targets))
    return out


def test_best_fit_keeps_every_token_and_fills_rows():
    samples = _samples(200)
    rows = best_fit_pack(samples, 128)
    assert sorted(t for r in rows for t in r.ids) == sorted(t for s in samples for t in s.ids)
    assert all(len(r.ids) <= 128 for r in rows)
    for r in rows:  # positions restart at 0 for each sample
        starts = [i for i, p in enumerate(r.positions) if p == 0]
        assert starts[0] == 0 and all(r.positions[i] == r.positions[i - 1] + 1 for i in range(1, len(r.ids))
                                      if i not in starts)
    packed, unpacked = padding_share(rows, 8), padding_share(unpacked_rows(samples), 8)
    assert packed < 0.05 < unpacked


def test_packed_logits_equal_each_sample_alone(tiny_chatml):
    model, _ = tiny_chatml
    samples = _samples(3, lo=6, hi=20, seed=1)
    rows = best_fit_pack(samples, 128)
    assert len(rows) == 1
    # A second, shorter row forces padding in the batch too.
    ids, _targets, positions, n_pad = collate(rows + [unpacked_rows(samples[:1])[0]], pad_id=0)
    assert n_pad > 0
    with torch.no_grad():
        packed = model(input_ids=ids, position_ids=positions,
                       attention_mask=block_causal_mask(positions)).logits
        offset = 0
        order = sorted(range(3), key=lambda i: -len(samples[i].ids))  # best-fit places longest first
        for i in order:
            alone = model(input_ids=torch.tensor([samples[i].ids])).logits[0]
            got = packed[0, offset:offset + len(samples[i].ids)]
            assert torch.allclose(got, alone, atol=1e-5), f"sample {i} sees another sample"
            offset += len(samples[i].ids)
        single = model(input_ids=torch.tensor([samples[0].ids])).logits[0]
        assert torch.allclose(packed[1, :len(samples[0].ids)], single, atol=1e-5)


def test_packed_loss_equals_sum_of_sample_losses(tiny_chatml):
    model, _ = tiny_chatml
    samples = _samples(5, seed=2)
    with torch.no_grad():
        ids, targets, positions, _ = collate(best_fit_pack(samples, 256), pad_id=0)
        packed, n = loss_sum(model, ids, targets, positions)
        alone = [loss_sum(model, *collate([r], 0)[:3]) for r in unpacked_rows(samples)]
    assert n == sum(k for _, k in alone)
    assert torch.allclose(packed, sum(v for v, _ in alone), rtol=1e-5)
