"""Synthetic short instructions with planted near-duplicates made by controlled token edits (tests, bench)."""

from __future__ import annotations

import random
from dataclasses import dataclass

_SYLLABLES = ["ka", "lo", "mi", "ser", "tan", "vo", "pre", "dis", "ing", "ex", "qua", "ro", "ple",
              "ti", "nu", "gar", "bel", "som", "for", "ath", "ul", "ven", "cri", "dom"]


def vocabulary(size: int = 6000, seed: int = 7) -> list[str]:
    """Distinct pseudo-words; callers draw them with Zipf weights so common words recur like "the"."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


@dataclass
class Sampler:
    words: list[str]
    weights: list[float]

    @classmethod
    def zipf(cls, size: int = 6000, seed: int = 7) -> Sampler:
        words = vocabulary(size, seed)
        return cls(words, [1.0 / (rank + 1) for rank in range(len(words))])

    def sentence(self, rng: random.Random, lo: int = 6, hi: int = 24) -> list[str]:
        return rng.choices(self.words, self.weights, k=rng.randint(lo, hi))

    def word(self, rng: random.Random) -> str:
        return rng.choices(self.words, self.weights)[0]


def mutate(tokens: list[str], edits: int, rng: random.Random, sampler: Sampler) -> list[str]:
    """Apply `edits` random token edits: substitution (60%), insertion (20%) or deletion (20%)."""
    out = list(tokens)
    for _ in range(edits):
        op = rng.random()
        if op < 0.6 and out:
            out[rng.randrange(len(out))] = sampler.word(rng)
        elif op < 0.8 or len(out) <= 2:
            out.insert(rng.randrange(len(out) + 1), sampler.word(rng))
        else:
            del out[rng.randrange(len(out))]
    return out


def planted_pairs(n_pairs: int, seed: int = 0, max_edit_frac: float = 0.6) -> list[tuple[str, str, float]]:
    """(original, mutant, edit fraction) pairs; edit fractions spread evenly over [0, max_edit_frac]."""
    rng = random.Random(seed)
    sampler = Sampler.zipf()
    pairs = []
    for i in range(n_pairs):
        base = sampler.sentence(rng)
        frac = max_edit_frac * i / max(1, n_pairs - 1)
        edits = round(frac * len(base))
        pairs.append((" ".join(base), " ".join(mutate(base, edits, rng, sampler)), edits / len(base)))
    rng.shuffle(pairs)
    return pairs


def planted_corpus(n: int, seed: int = 0, dup_share: float = 0.3, large: tuple[int, ...] = (2000, 500)
                   ) -> tuple[list[str], list[int]]:
    """`n` texts and the planted cluster of each: mostly unique texts, small clusters of light edits
    (0 to 2 token edits, exact copies included) and a few large template-like clusters."""
    rng = random.Random(seed)
    sampler = Sampler.zipf()
    texts: list[str] = []
    origin: list[int] = []
    big = [size for size in large if size < n * dup_share]
    budget_small = int(n * dup_share) - sum(big)
    cluster = 0
    for size in big:
        base = sampler.sentence(rng, 10, 20)
        for _ in range(size):
            texts.append(" ".join(mutate(base, rng.randint(0, 2), rng, sampler)))
            origin.append(cluster)
        cluster += 1
    while budget_small > 0:
        base = sampler.sentence(rng)
        size = min(budget_small, rng.randint(2, 8))
        for _ in range(size):
            texts.append(" ".join(mutate(base, rng.randint(0, 1), rng, sampler)))
            origin.append(cluster)
        cluster += 1
        budget_small -= size
    while len(texts) < n:
        texts.append(" ".join(sampler.sentence(rng)))
        origin.append(cluster)
        cluster += 1
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [origin[i] for i in order]
