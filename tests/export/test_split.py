"""The train/validation split is seeded, independent of input order, and stratified by group."""

from __future__ import annotations

import random

from pipeline.export.split import assign_splits, validation_size

IDS = [f"id{i:03d}" for i in range(100)]
GROUPS = ["self_instruct"] * 60 + ["evol_instruct"] * 30 + ["seeds"] * 10


def _val(ids, splits):
    return {i for i, s in zip(ids, splits) if s == "validation"}


def test_same_seed_same_split_and_another_seed_differs():
    a = assign_splits(IDS, 0.1, random.Random("1:format"))
    b = assign_splits(IDS, 0.1, random.Random("1:format"))
    c = assign_splits(IDS, 0.1, random.Random("2:format"))
    assert a == b and a != c
    assert a.count("validation") == 10


def test_input_order_does_not_change_who_is_held_out():
    shuffled = IDS[::-1]
    a = assign_splits(IDS, 0.2, random.Random(5))
    b = assign_splits(shuffled, 0.2, random.Random(5))
    assert _val(IDS, a) == _val(shuffled, b)


def test_stratified_split_keeps_each_group_share():
    splits = assign_splits(IDS, 0.1, random.Random(0), GROUPS)
    per_group = {g: sum(1 for x, s in zip(GROUPS, splits) if x == g and s == "validation") for g in set(GROUPS)}
    assert per_group == {"self_instruct": 6, "evol_instruct": 3, "seeds": 1}


def test_stratified_remainders_go_to_the_largest_fractions():
    groups = ["a"] * 5 + ["b"] * 3 + ["c"] * 2
    splits = assign_splits([f"x{i}" for i in range(10)], 0.25, random.Random(0), groups)
    per_group = {g: sum(1 for x, s in zip(groups, splits) if x == g and s == "validation") for g in "abc"}
    # 2.5 rows held out -> 3: a gets 1.25 -> 1, b 0.75 -> 1, c 0.5 -> 1 (largest remainders b, c, then a).
    assert per_group == {"a": 1, "b": 1, "c": 1}


def test_validation_size_edges():
    assert validation_size(0, 0.05) == 0
    assert validation_size(1, 0.5) == 0  # the only row trains
    assert validation_size(10, 0.05) == 1  # asked for a validation split: at least one row
    assert validation_size(10, 0.0) == 0
    assert validation_size(3, 0.9) == 2  # never every row
    assert validation_size(30, 0.05) == 2  # 1.5 rounds half up
