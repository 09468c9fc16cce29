"""Best-fit packing of samples into fixed-length rows, and batch collation (packed or padded)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from pipeline.train.data import IGNORE, Sample


@dataclass
class Row:
    """Samples laid end to end; position ids restart at 0 for each sample."""

    ids: list[int]
    targets: list[int]
    positions: list[int]


def best_fit_pack(samples: list[Sample], max_length: int) -> list[Row]:
    """Best-fit decreasing: each sample, longest first, goes into the open row with the least room that fits.

    Samples are assumed truncated to max_length. Order is deterministic (ties keep input order).
    """
    order = sorted(range(len(samples)), key=lambda i: -len(samples[i].ids))
    rows: list[list[int]] = []  # sample indices per row
    free: list[tuple[int, int]] = []  # sorted (room left, row index)
    for i in order:
        need = len(samples[i].ids)
        k = bisect.bisect_left(free, (need, -1))
        if k < len(free):
            room, r = free.pop(k)
        else:
            rows.append([])
            room, r = max_length, len(rows) - 1
        rows[r].append(i)
        if room - need > 0:
            bisect.insort(free, (room - need, r))
    return [_concat([samples[i] for i in idx]) for idx in rows]


def _concat(parts: list[Sample]) -> Row:
    row = Row([], [], [])
    for s in parts:
        row.ids.extend(s.ids)
        row.targets.extend(s.targets)
        row.positions.extend(range(len(s.ids)))
    return row


def unpacked_rows(samples: list[Sample]) -> list[Row]:
    """One sample per row (the padded baseline)."""
    return [_concat([s]) for s in samples]


def collate(rows: list[Row], pad_id: int):
    """Tensors for one micro-batch: input_ids, targets, position_ids, and the number of padding tokens.

    Padding continues the position count from 0 as its own segment (see `block_causal_mask`), so no real
    token ever attends to padding; padding has target -100 so it adds nothing to the loss.
    """
    import torch

    length = max(len(r.ids) for r in rows)
    ids, targets, positions, pad = [], [], [], 0
    for r in rows:
        extra = length - len(r.ids)
        pad += extra
        ids.append(r.ids + [pad_id] * extra)
        targets.append(r.targets + [IGNORE] * extra)
        positions.append(r.positions + list(range(extra)))
    return (torch.tensor(ids), torch.tensor(targets), torch.tensor(positions), pad)


def padding_share(rows: list[Row], batch_size: int) -> float:
    """Share of padding tokens when rows are batched in order and padded to the longest in each batch."""
    total = pad = 0
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        length = max(len(r.ids) for r in chunk)
        total += length * len(chunk)
        pad += sum(length - len(r.ids) for r in chunk)
    return pad / total if total else 0.0


def block_causal_mask(positions, additive_dtype=None):
    """(batch, 1, L, L) mask letting a token see only earlier tokens of its own sample.

    Samples are found where position ids restart at 0. Boolean (True = attend) for SDPA; with
    `additive_dtype`, 0 / dtype-min floats as the eager attention expects. transformers 5 can infer this
    from position ids alone, but on CPU with SDPA it did not (logits leaked across samples), so we build it.
    """
    import torch

    segment = (positions == 0).cumsum(-1)
    length = positions.shape[-1]
    causal = torch.ones(length, length, dtype=torch.bool, device=positions.device).tril()
    mask = (segment[:, :, None] == segment[:, None, :]) & causal
    mask = mask[:, None]
    if additive_dtype is None:
        return mask
    return torch.zeros(mask.shape, dtype=additive_dtype).masked_fill(~mask, torch.finfo(additive_dtype).min)
