"""Seeded train/validation split, optionally stratified so each group keeps its share of validation rows."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence


def validation_size(n: int, ratio: float) -> int:
    """Rows held out: ratio * n rounded half up, at least one when asked for any, and never every row."""
    if ratio <= 0 or n < 2:
        return 0
    return min(n - 1, max(1, math.floor(n * ratio + 0.5)))


def _apportion(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Split `total` over groups in proportion to their sizes (largest remainder), ties broken by name."""
    n = sum(sizes.values())
    exact = {g: total * s / n for g, s in sizes.items()}
    out = {g: math.floor(v) for g, v in exact.items()}
    left = total - sum(out.values())
    for g in sorted(exact, key=lambda g: (-(exact[g] - out[g]), g))[:left]:
        out[g] += 1
    return out


def assign_splits(ids: Sequence[str], ratio: float, rng: random.Random,
                  groups: Sequence[str] | None = None) -> list[str]:
    """"train" or "validation" for each id, in input order. Rows are shuffled in id order (so input order
    does not matter), by the given seeded rng; with groups, each group gives its proportional share."""
    labels = list(groups) if groups is not None else [""] * len(ids)
    members: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(labels):
        members[g].append(i)
    quota = _apportion({g: len(ix) for g, ix in members.items()}, validation_size(len(ids), ratio))
    out = ["train"] * len(ids)
    for g in sorted(members):
        order = sorted(members[g], key=lambda i: (ids[i], i))
        rng.shuffle(order)
        for i in order[: quota[g]]:
            out[i] = "validation"
    return out
