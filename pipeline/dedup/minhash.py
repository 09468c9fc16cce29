"""MinHash signatures in batch (numpy, over all cores), bit-for-bit equal to datasketch's affine32 scheme.

MinHash (Broder, "On the resemblance and containment of documents", 1997): the probability that two
sets agree on the minimum of a random permutation equals their Jaccard similarity. We apply datasketch's
own permutations (`MinHash(scheme="affine32").permutations`, a*fmix32(h)+b mod 2^32) to every shingle of a
batch at once and take per-text minima with `np.minimum.reduceat`, instead of one `update()` per shingle.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import pairwise

import numpy as np
from datasketch import LeanMinHash, MinHash
from datasketch.lsh import _optimal_param
from datasketch.minhash import _fmix

from pipeline.dedup.shingles import ShingleSpec, batch_shingles, fmix64
from pipeline.executors import Executor, LocalExecutor

EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's "no shingle seen" value
_CHUNK_SHINGLES = 8_192  # a (num_perm x shingles) uint32 block of 4 MiB at 128 permutations: stays in cache
_PARALLEL_MIN_TEXTS = 20_000  # below this, starting processes costs more than it saves (local executor)


@dataclass(frozen=True)
class MinHashParams:
    num_perm: int = 128
    seed: int = 1  # datasketch's default seed: our signatures equal MinHash(num_perm, seed=1, "affine32")


@lru_cache(maxsize=8)
def permutations(params: MinHashParams) -> tuple[np.ndarray, np.ndarray]:
    a, b = MinHash(num_perm=params.num_perm, seed=params.seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def signatures_from_shingles(hashes: np.ndarray, offsets: np.ndarray, params: MinHashParams) -> np.ndarray:
    """(texts, num_perm) uint32 signatures from flat shingle hashes; a text without shingles gets EMPTY."""
    n = len(offsets) - 1
    a, b = permutations(params)
    a, b = a[:, None], b[:, None]
    sig = np.full((n, params.num_perm), EMPTY, dtype=np.uint32)
    mixed = _fmix(hashes.astype(np.uint32), 32)
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    # Texts in chunks of about _CHUNK_SHINGLES shingles; the (num_perm, shingles) block is laid out so
    # that the per-text minimum (reduceat) runs along contiguous memory, about 10x faster than across.
    cuts = np.searchsorted(offsets[nonempty], np.arange(0, offsets[-1], _CHUNK_SHINGLES), side="left")
    bounds = np.unique(np.append(cuts, len(nonempty)))
    buf = np.empty((params.num_perm, 0), dtype=np.uint32)
    for lo, hi in pairwise(bounds):
        rows = nonempty[lo:hi]
        start, stop = offsets[rows[0]], offsets[rows[-1] + 1]
        if buf.shape[1] < stop - start:
            buf = np.empty((params.num_perm, stop - start), dtype=np.uint32)
        block = buf[:, :stop - start]
        np.multiply(a, mixed[None, start:stop], out=block)
        np.add(block, b, out=block)
        sig[rows] = np.minimum.reduceat(block, offsets[rows] - start, axis=1).T
    return sig


def compute_signatures(texts: list[str], spec: ShingleSpec, params: MinHashParams, workers: int = 0,
                       executor: Executor | None = None) -> np.ndarray:
    """Signatures of all texts, in order, computed in batches on `executor` (default: local, `workers`
    processes, 0 = all cores, for inputs of 20,000 texts or more)."""
    if not texts:
        return np.empty((0, params.num_perm), dtype=np.uint32)
    executor = executor or LocalExecutor(min_parallel=_PARALLEL_MIN_TEXTS)
    return executor.map_batches(partial(signature_batch, spec, params), texts, workers=workers or None)


def signature_batch(spec: ShingleSpec, params: MinHashParams, texts: list[str]) -> np.ndarray:
    """(texts, num_perm) signatures of one batch: the unit an executor schedules."""
    hashes, offsets = batch_shingles(texts, spec)
    return signatures_from_shingles(hashes, offsets, params)


def signatures_and_keys_batch(spec: ShingleSpec, params: MinHashParams, bands: int, rows: int,
                              texts: list[str]) -> np.ndarray:
    """One batch's signatures with their LSH band keys alongside, as one (texts, num_perm + 2*bands)
    uint32 array (each uint64 key as two uint32 halves), so a worker ships both in one tensor."""
    sig = signature_batch(spec, params, texts)
    keys = np.ascontiguousarray(band_keys(sig, bands, rows).T)
    return np.hstack([sig, keys.view(np.uint32)])


def split_signatures_and_keys(joined: np.ndarray, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of `signatures_and_keys_batch` over concatenated batches: (signatures, (bands, texts) keys)."""
    sig = np.ascontiguousarray(joined[:, :num_perm])
    keys = np.ascontiguousarray(joined[:, num_perm:]).view(np.uint64).T
    return sig, keys


def datasketch_minhash(text: str, spec: ShingleSpec, params: MinHashParams) -> MinHash:
    """The same signature through datasketch's own API (one update per shingle), for checks and interop."""
    hashes, _ = batch_shingles([text], spec)
    m = MinHash(num_perm=params.num_perm, seed=params.seed, scheme="affine32", hashfunc=int)
    m.update_batch(hashes.tolist())
    return m


def to_lean_minhash(signature: np.ndarray, params: MinHashParams) -> LeanMinHash:
    """A datasketch LeanMinHash (usable with MinHashLSH) from one of our signature rows."""
    m = MinHash(num_perm=params.num_perm, seed=params.seed, scheme="affine32",
                hashvalues=signature, permutations=permutations(params))
    return LeanMinHash(m)


def lsh_bands(threshold: float, num_perm: int, weights: tuple[float, float]) -> tuple[int, int]:
    """(bands, rows) minimising weighted false-positive and false-negative areas under the S-curve
    1-(1-s^r)^b (Leskovec, Rajaraman, Ullman, Mining of Massive Datasets, ch. 3.4), as MinHashLSH does."""
    return _optimal_param(threshold, num_perm, weights[0], weights[1])


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(bands, texts) uint64 keys: texts share a key when their r values in that band are equal."""
    keys = np.empty((bands, len(sig)), dtype=np.uint64)
    wide = sig.astype(np.uint64)
    for band in range(bands):
        h = np.full(len(sig), np.uint64(band + 1), dtype=np.uint64)
        for col in range(band * rows, (band + 1) * rows):
            h = h * np.uint64(0x9E3779B97F4A7C15) + wide[:, col]
        keys[band] = fmix64(h)
    return keys


def estimated_jaccard(sig: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Fraction of equal signature positions for each (i, j) pair."""
    if len(pairs) == 0:
        return np.empty(0, dtype=np.float64)
    out = np.empty(len(pairs), dtype=np.float64)
    for lo in range(0, len(pairs), 65_536):
        p = pairs[lo:lo + 65_536]
        out[lo:lo + len(p)] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    return out
