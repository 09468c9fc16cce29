"""The six Evol-Instruct operations (Xu et al., 2023, WizardLM, section 3) and the seeded choice among them."""

from __future__ import annotations

import random
from collections.abc import Sequence

# In-depth evolving makes an instruction harder in one of five ways; in-breadth evolving writes a new,
# rarer instruction of the same domain (Xu et al., 2023, sections 3.1-3.2).
DEPTH_OPERATIONS: tuple[str, ...] = (
    "add_constraints", "deepening", "concretizing", "increase_reasoning", "complicate_input",
)
BREADTH_OPERATION = "breadth"
OPERATIONS: tuple[str, ...] = (*DEPTH_OPERATIONS, BREADTH_OPERATION)

# Complicate input adds data the instruction must use; the paper names tables, code, formulas, XML and
# JSON among its few-shot examples (Xu et al., 2023, Appendix A).
INPUT_FORMATS: tuple[str, ...] = ("table", "json", "xml", "code", "formula")


def template_for(operation: str) -> str:
    """The prompt template (path under prompts/) that performs `operation`."""
    if operation not in OPERATIONS:
        raise KeyError(f"unknown Evol-Instruct operation '{operation}'")
    return f"evol/{operation}.j2"


def choose_operation(rng: random.Random, operations: Sequence[str], weights: Sequence[float]) -> str:
    """One operation drawn with the given weights; exactly one rng draw per call, so the order is fixed."""
    if len(operations) != len(weights) or not operations:
        raise ValueError("operations and weights must be non-empty and of equal length")
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be >= 0 with a positive sum")
    point = rng.random() * total
    edge = 0.0
    for op, weight in zip(operations, weights):
        edge += weight
        if point < edge:
            return op
    # Float rounding can leave point == total: the last operation with weight takes it.
    return next(op for op, w in zip(reversed(operations), reversed(weights)) if w > 0)


def chi_square(observed: Sequence[int], weights: Sequence[float]) -> float:
    """Pearson's chi-square of observed counts against the counts the weights predict (zero weights skipped)."""
    n = sum(observed)
    total = float(sum(weights))
    stat = 0.0
    for count, weight in zip(observed, weights):
        if weight <= 0:
            continue
        expected = n * weight / total
        stat += (count - expected) ** 2 / expected
    return stat
