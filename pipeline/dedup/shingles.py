"""Shingling: normalised text to 32-bit hashes of word or character n-grams, a whole batch at a time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pipeline.dedup.normalise import normalise_text

_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd, so Horner steps over uint64 lose no information
_CHAR_SALT = np.uint64(0x632BE59BD9B4E019)
_TOKEN_CACHE: dict[str, int] = {}
_TOKEN_CACHE_MAX = 2_000_000


@dataclass(frozen=True)
class ShingleSpec:
    """Word n-grams or character n-grams of the normalised text."""

    kind: Literal["word", "char"] = "word"
    n: int = 3


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads the Horner sums before we keep their top 32 bits."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def token_hash(word: str) -> int:
    """A stable 64-bit hash of a word (Python's hash() differs between processes)."""
    h = _TOKEN_CACHE.get(word)
    if h is None:
        if len(_TOKEN_CACHE) > _TOKEN_CACHE_MAX:
            _TOKEN_CACHE.clear()
        h = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
        _TOKEN_CACHE[word] = h
    return h


def _units(texts: list[str], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit 64-bit hashes (words or characters) in one flat array, and each text's unit count."""
    if kind == "word":
        flat: list[int] = []
        lengths = np.empty(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            words = normalise_text(text).split()
            lengths[i] = len(words)
            flat.extend([token_hash(w) for w in words])
        return np.array(flat, dtype=np.uint64), lengths
    norm = [normalise_text(t) for t in texts]
    lengths = np.fromiter((len(s) for s in norm), dtype=np.int64, count=len(norm))
    codes = np.frombuffer("".join(norm).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    return fmix64(codes + _CHAR_SALT), lengths


def _horner(units: np.ndarray, n: int) -> np.ndarray:
    """h[i] = sum_j units[i+j] * M^(n-1-j), for every window start i (windows may cross texts)."""
    m = len(units) - n + 1
    h = units[:m].copy()
    for j in range(1, n):
        h = h * _MULT + units[j:j + m]
    return h


def batch_shingles(texts: list[str], spec: ShingleSpec) -> tuple[np.ndarray, np.ndarray]:
    """All shingle hashes (uint32, repeats kept) of a batch and offsets (len n+1) into them per text.

    A text shorter than n units gives one shingle of all its units; an empty text gives none.
    """
    units, lengths = _units(texts, spec.kind)
    n = spec.n
    counts = np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint64)
    starts = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    long = lengths >= n
    if long.any() and len(units) >= n:
        windows = _horner(units, n)
        c = counts[long]
        out[segment_ranges(offsets[:-1][long], c)] = windows[segment_ranges(starts[long], c)]
    for i in np.flatnonzero((lengths > 0) & ~long):
        seg = units[starts[i]:starts[i] + lengths[i]]
        out[offsets[i]] = _horner(seg, len(seg))[0]
    return (fmix64(out) >> np.uint64(32)).astype(np.uint32), offsets


def segment_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s+c) for each (s, c), without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    seg_start = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=seg_start[1:])
    return np.arange(total, dtype=np.int64) + np.repeat(starts - seg_start, counts)


def shingle_set(text: str, spec: ShingleSpec) -> np.ndarray:
    """The distinct shingle hashes of one text, sorted (for exact Jaccard and tests)."""
    h, _ = batch_shingles([text], spec)
    return np.unique(h)


def exact_jaccard(a: str, b: str, spec: ShingleSpec) -> float:
    """Jaccard similarity of two texts' shingle sets; two empty texts count as identical."""
    sa, sb = shingle_set(a, spec), shingle_set(b, spec)
    union = len(np.union1d(sa, sb))
    return 1.0 if union == 0 else len(np.intersect1d(sa, sb, assume_unique=True)) / union
