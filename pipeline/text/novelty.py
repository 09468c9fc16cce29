"""A growing pool of texts that finds the exact highest ROUGE-L to a query without scoring the whole pool.

Why it is exact: the LCS of two token lists is at most the size of their multiset intersection, so
F = 2*LCS/(|a|+|b|) is at most the same formula with the shared-token count. An inverted index over tokens
(each repeated token is indexed as its own occurrence key: "the", "the#2", ...) gives that count for every
pool text in one `numpy.bincount` over the postings of the query's tokens. Texts are then scored exactly
(bit-parallel LCS, rouge_score's arithmetic) in decreasing order of their bound, and the search stops as soon
as the bound of the next text cannot beat the best exact score found: branch and bound. A bound and a score
computed from the same count are the same float; counts that differ by one differ by far more than rounding,
so the bound is never below the true score and the maximum is the one an exhaustive scan finds.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.text.rouge import f_measure, lcs_with_masks, match_masks, rouge_tokens

# Texts scored exactly before the bound is used to prune: cheap, and usually holds the maximum.
_FIRST_EXACT = 8


@dataclass(frozen=True)
class Nearest:
    """The most similar pool text: its ROUGE-L F-measure, its position in the pool and its key."""

    score: float
    index: int
    key: str


@dataclass
class QueryStats:
    """Work done by the queries so far (what the benchmark and the stage's stats report)."""

    queries: int = 0
    exact_scores: int = 0


def occurrence_keys(tokens: Sequence[str]) -> list[str]:
    """Each token with its occurrence number, so that set intersection equals multiset intersection."""
    seen: dict[str, int] = {}
    keys = []
    for tok in tokens:
        n = seen.get(tok, 0) + 1
        seen[tok] = n
        keys.append(tok if n == 1 else f"{tok}#{n}")
    return keys


class NoveltyIndex:
    """Texts added one by one; `nearest(tokens)` returns the pool text with the highest ROUGE-L F."""

    def __init__(self) -> None:
        self._postings: dict[str, array] = {}
        self._lengths = array("i")
        self._tokens: list[list[str]] = []
        self._keys: list[str] = []
        self.stats = QueryStats()

    def __len__(self) -> int:
        return len(self._tokens)

    def key(self, index: int) -> str:
        return self._keys[index]

    def add(self, key: str, text: str | None = None, tokens: Sequence[str] | None = None) -> int:
        """Add a text (or its rouge tokens); returns its index in the pool."""
        toks = list(tokens) if tokens is not None else rouge_tokens(text or "")
        index = len(self._tokens)
        self._tokens.append(toks)
        self._keys.append(key)
        self._lengths.append(len(toks))
        for k in occurrence_keys(toks):
            posting = self._postings.get(k)
            if posting is None:
                posting = self._postings[k] = array("i")
            posting.append(index)
        return index

    def nearest(self, tokens: Sequence[str]) -> Nearest | None:
        """The pool text with the highest ROUGE-L F to `tokens` (lowest index on ties), or None when the
        pool is empty. A score of 0.0 with index -1 means no pool text shares a token with the query."""
        self.stats.queries += 1
        n = len(self._tokens)
        if n == 0:
            return None
        qlen = len(tokens)
        postings = [self._postings[k] for k in occurrence_keys(tokens) if k in self._postings]
        if not qlen or not postings:
            return Nearest(0.0, -1, "")
        ids = np.concatenate([np.frombuffer(p, dtype=np.int32) for p in postings])
        shared = np.bincount(ids, minlength=n)
        cand = np.flatnonzero(shared)
        bound = _f_measure_array(shared[cand], qlen, np.frombuffer(self._lengths, dtype=np.int32)[cand])
        return self._branch_and_bound(tokens, cand, bound)

    def _branch_and_bound(self, tokens: Sequence[str], cand: np.ndarray, bound: np.ndarray) -> Nearest:
        masks = match_masks(tokens)
        qlen = len(tokens)
        best_score, best_index = -1.0, -1

        def score(i: int) -> float:
            self.stats.exact_scores += 1
            other = self._tokens[i]
            return f_measure(lcs_with_masks(masks, qlen, other), qlen, len(other))

        # Exact scores for the few texts with the highest bounds give a strong first cut-off.
        first = cand if len(cand) <= _FIRST_EXACT else cand[np.argpartition(-bound, _FIRST_EXACT)[:_FIRST_EXACT]]
        for i in sorted(int(x) for x in first):
            s = score(i)
            if s > best_score:
                best_score, best_index = s, i
        done = {int(x) for x in first}
        # Every other text whose bound reaches the best score, highest bound first (ties: lowest index).
        keep = bound >= best_score
        rest, rest_bound = cand[keep], bound[keep]
        order = np.lexsort((rest, -rest_bound))
        for i, b in zip(rest[order].tolist(), rest_bound[order].tolist()):
            if b < best_score:
                break
            if i in done:
                continue
            s = score(i)
            if s > best_score or (s == best_score and i < best_index):
                best_score, best_index = s, i
        return Nearest(best_score, best_index, self._keys[best_index])

    def exceeds(self, tokens: Sequence[str], threshold: float) -> tuple[bool, Nearest | None]:
        """Whether some pool text has ROUGE-L F > threshold (the Self-Instruct rejection rule), and the nearest."""
        found = self.nearest(tokens)
        return (found is not None and found.score > threshold), found


def _f_measure_array(shared: np.ndarray, qlen: int, lengths: np.ndarray) -> np.ndarray:
    """`f_measure` over arrays, the same IEEE operations in the same order (float64)."""
    shared = shared.astype(np.float64)
    precision = shared / lengths
    recall = shared / qlen
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 2 * precision * recall / (precision + recall)
    return np.where(precision + recall > 0, f, 0.0)
