"""Decontamination: find texts that share a word n-gram with an evaluation item (GPT-3's test).

GPT-3 (Brown et al., 2020, appendix C) counted a training document as contaminated when it shared any
13-gram with a test item, and used shorter n-grams (never under 8) for benchmarks with short items; we
do the same: an eval item shorter than `n` words (but at least `min_n`) is matched whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.dedup.normalise import normalised_words
from pipeline.dedup.shingles import ShingleSpec, batch_shingles


@dataclass(frozen=True)
class NgramHit:
    eval_index: int
    ngram: str


@dataclass(frozen=True)
class NgramIndex:
    """Per n-gram size (ascending), the eval n-grams (words -> first eval item) and their hashes."""

    levels: tuple[tuple[int, dict[tuple[str, ...], int], np.ndarray], ...]


def build_ngram_index(eval_texts: list[str], n: int = 13, min_n: int = 8) -> NgramIndex:
    """The eval side of the test, built once (on the driver) and shipped to every batch."""
    eval_words = [normalised_words(t) for t in eval_texts]
    levels = []
    for size in sorted({n} | {len(w) for w in eval_words if min_n <= len(w) < n}):
        index: dict[tuple[str, ...], int] = {}
        for i, words in enumerate(eval_words):
            if size == n and len(words) >= n:
                for j in range(len(words) - n + 1):
                    index.setdefault(tuple(words[j:j + n]), i)
            elif len(words) == size:
                index.setdefault(tuple(words), i)
        if index:
            hashes = np.unique(batch_shingles([" ".join(k) for k in index], ShingleSpec("word", size))[0])
            levels.append((size, index, hashes))
    return NgramIndex(tuple(levels))


def ngram_contamination(texts: list[str], eval_texts: list[str], n: int = 13, min_n: int = 8
                        ) -> list[NgramHit | None]:
    """Per text, the first eval item it shares a normalised word n-gram with (None: clean)."""
    return contamination_batch(build_ngram_index(eval_texts, n, min_n), texts)


def contamination_batch(index: NgramIndex, texts: list[str]) -> list[NgramHit | None]:
    """The n-gram test for one batch of texts: each text's answer depends on it alone.

    Hashes are compared in bulk (uint32, numpy), and every hash hit is confirmed on the words
    themselves, so a hash collision can never reject a record.
    """
    hits: list[NgramHit | None] = [None] * len(texts)
    for size, grams, eval_hashes in index.levels:
        open_ids = [i for i, h in enumerate(hits) if h is None]
        hashes, offsets = batch_shingles([texts[i] for i in open_ids], ShingleSpec("word", size))
        found = np.flatnonzero(np.isin(hashes, eval_hashes))
        owners = np.searchsorted(offsets, found, side="right") - 1
        for pos, owner in zip(found, owners, strict=True):
            k = open_ids[owner]
            if hits[k] is not None:
                continue
            words = normalised_words(texts[k])
            j = pos - offsets[owner]
            if len(words) < size:
                continue
            gram = tuple(words[j:j + size])
            if gram in grams:
                hits[k] = NgramHit(grams[gram], " ".join(gram))
    return hits
