"""Operation choice: the seeded draw follows the configured weights (chi-square bound) and is reproducible."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from pipeline.evol.operations import OPERATIONS, chi_square, choose_operation, template_for

# Chi-square critical values at p = 0.001: 5 degrees of freedom (six operations) and 2 (three).
CHI2_999_DF5 = 20.515
CHI2_999_DF2 = 13.816


def _draw(weights: list[float], n: int, seed: int = 1234) -> list[int]:
    rng = random.Random(seed)
    counts = Counter(choose_operation(rng, OPERATIONS, weights) for _ in range(n))
    return [counts[op] for op in OPERATIONS]


def test_uniform_mix_follows_weights() -> None:
    observed = _draw([1.0] * 6, 60_000)
    assert chi_square(observed, [1.0] * 6) < CHI2_999_DF5
    assert all(abs(c / 60_000 - 1 / 6) < 0.01 for c in observed)


def test_skewed_mix_follows_weights_and_zero_weight_never_drawn() -> None:
    weights = [4.0, 2.0, 1.0, 0.0, 0.0, 1.0]
    observed = _draw(weights, 40_000)
    assert observed[3] == observed[4] == 0
    assert chi_square(observed, weights) < CHI2_999_DF2  # three free categories among four drawn
    assert abs(observed[0] / 40_000 - 0.5) < 0.01


def test_chi_square_catches_a_wrong_mix() -> None:
    # Draw uniformly but test against skewed weights: the bound must reject it.
    observed = _draw([1.0] * 6, 6_000)
    assert chi_square(observed, [3.0, 1.0, 1.0, 1.0, 1.0, 1.0]) > CHI2_999_DF5


def test_draws_are_reproducible_with_the_same_seed() -> None:
    assert _draw([1.0] * 6, 500, seed=7) == _draw([1.0] * 6, 500, seed=7)
    assert _draw([1.0] * 6, 500, seed=7) != _draw([1.0] * 6, 500, seed=8)


def test_one_rng_draw_per_choice() -> None:
    a, b = random.Random(5), random.Random(5)
    choose_operation(a, OPERATIONS, [1.0] * 6)
    b.random()
    assert a.random() == b.random()


def test_bad_weights_and_unknown_operation() -> None:
    with pytest.raises(ValueError):
        choose_operation(random.Random(0), OPERATIONS, [0.0] * 6)
    with pytest.raises(ValueError):
        choose_operation(random.Random(0), OPERATIONS, [1.0] * 5)
    with pytest.raises(KeyError):
        template_for("translate")
    assert template_for("breadth") == "evol/breadth.j2"
