"""ROUGE-L F-measure identical to rouge_score's (default tokenizer, no stemming), with a bit-parallel LCS."""

from __future__ import annotations

from collections.abc import Sequence

from rouge_score import tokenize as _rouge_tokenize


def rouge_tokens(text: str) -> list[str]:
    """rouge_score's default tokenisation without stemming: lowercase, runs of [a-z0-9], the rest dropped."""
    return _rouge_tokenize.tokenize(text, None)


def match_masks(tokens: Sequence[str]) -> dict[str, int]:
    """For each distinct token, a bitmask of the positions where it occurs (the input of `lcs_with_masks`)."""
    masks: dict[str, int] = {}
    for i, tok in enumerate(tokens):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    return masks


def lcs_with_masks(masks: dict[str, int], length: int, other: Sequence[str]) -> int:
    """Length of the longest common subsequence of the masked sequence and `other`.

    Hyyro's bit-vector recurrence: one big-int add and a few logic operations per token of `other`,
    instead of a |a| x |b| table of Python integers (rouge_score's `_lcs_table`).
    """
    full = (1 << length) - 1
    v = full
    for tok in other:
        m = masks.get(tok)
        if m:
            u = v & m
            v = ((v + u) | (v - u)) & full
    return length - v.bit_count()


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    if len(b) > len(a):  # the shorter sequence drives the loop
        a, b = b, a
    return lcs_with_masks(match_masks(a), len(a), b)


def f_measure(lcs: int, target_len: int, prediction_len: int) -> float:
    """rouge_score's arithmetic, operation for operation, so the float is bit-identical to its fmeasure.

    The result is symmetric in the two lengths: 2*p*r == 2*r*p exactly, since doubling is exact.
    """
    if not target_len or not prediction_len:
        return 0.0
    precision = lcs / prediction_len
    recall = lcs / target_len
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def rouge_l_tokens(target: Sequence[str], prediction: Sequence[str]) -> float:
    """ROUGE-L F-measure of two token lists."""
    return f_measure(lcs_length(target, prediction), len(target), len(prediction))


def rouge_l(target: str, prediction: str) -> float:
    """ROUGE-L F-measure of two texts, equal to RougeScorer(["rougeL"], use_stemmer=False) fmeasure."""
    return rouge_l_tokens(rouge_tokens(target), rouge_tokens(prediction))
