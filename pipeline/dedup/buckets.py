"""LSH band buckets to candidate pairs (grouped by bucket, never one query per text), pair Jaccard, clusters."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.dedup.shingles import segment_ranges


def bucket_pairs(keys: np.ndarray, n_anchor: int | None = None) -> np.ndarray:
    """Unique (anchor, member) index pairs, anchor < member, from texts that share a band key.

    Each bucket links its members to one anchor, its lowest index, instead of all pairs: a bucket of
    k texts costs k-1 pairs, not k(k-1)/2, so large template clusters stay linear. With `n_anchor`,
    texts [0, n_anchor) are a reference: only they anchor, and only the others become members.
    Texts that verification leaves unlinked get another round with new anchors (`near.verified_pairs`).
    Bands are independent: an executor may group each band on its own worker (`band_pairs_batch`)
    and `merge_pairs` the parts into the same answer.
    """
    return merge_pairs([band_pairs(band, n_anchor) for band in keys], keys.shape[1])


def band_pairs(band: np.ndarray, n_anchor: int | None = None) -> np.ndarray:
    """(anchor, member) pairs of one band: texts grouped by their key in this band."""
    n = len(band)
    order = np.argsort(band)
    k = band[order]
    first = np.ones(n, dtype=bool)
    first[1:] = k[1:] != k[:-1]
    starts = np.flatnonzero(first)
    if len(starts) == n:
        return np.empty((0, 2), dtype=np.int64)
    head = np.minimum.reduceat(order, starts)[np.cumsum(first) - 1]
    ok = order != head
    if n_anchor is not None:
        ok &= (head < n_anchor) & (order >= n_anchor)
    return np.stack([head[ok], order[ok]], axis=1).astype(np.int64)


def band_pairs_batch(n_anchor: int | None, bands: list[np.ndarray]) -> list[np.ndarray]:
    """`band_pairs` for a batch of bands: the unit an executor schedules."""
    return [band_pairs(band, n_anchor) for band in bands]


def merge_pairs(parts: list[np.ndarray], n: int) -> np.ndarray:
    """The union of per-band pairs, unique and sorted, whatever order the parts came in."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(parts).astype(np.int64)
    codes = sorted_unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([codes // n, codes % n], axis=1)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting: numpy 2.x's default hash-based unique is ~10x slower on 64-bit keys."""
    s = np.sort(values, axis=None)
    if len(s) < 2:
        return s
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]


def pair_jaccard(sets: np.ndarray, offsets: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Exact Jaccard of sorted, distinct shingle sets (flat `sets`, per-text `offsets`) for each pair."""
    res = np.empty(len(pairs), dtype=np.float64)
    sizes = np.diff(offsets)
    step = max(1, 4_000_000 // max(1, int(2 * sizes.mean()) if len(sizes) else 1))
    for lo in range(0, len(pairs), step):
        p = pairs[lo:lo + step]
        la, lb = sizes[p[:, 0]], sizes[p[:, 1]]
        seg_start = np.stack([offsets[p[:, 0]], offsets[p[:, 1]]], axis=1).ravel()
        seg_len = np.stack([la, lb], axis=1).ravel()
        idx = segment_ranges(seg_start, seg_len)
        pid = np.repeat(np.arange(len(p), dtype=np.uint64), la + lb)
        # One sort of (pair, hash) keys: a hash that appears twice in a row is in both sets.
        key = np.sort((pid << np.uint64(32)) | sets[idx].astype(np.uint64))
        dup = np.flatnonzero(key[1:] == key[:-1])
        inter = np.bincount((key[dup] >> np.uint64(32)).astype(np.int64), minlength=len(p))
        union = la + lb - inter
        res[lo:lo + len(p)] = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return res


def distinct_sets(hashes: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-text sorted distinct hashes, still flat, with new offsets."""
    n = len(offsets) - 1
    owner = np.repeat(np.arange(n, dtype=np.uint64), np.diff(offsets))
    key = sorted_unique((owner << np.uint64(32)) | hashes.astype(np.uint64))
    new_owner = (key >> np.uint64(32)).astype(np.int64)
    new_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(new_owner, minlength=n), out=new_offsets[1:])
    return (key & np.uint64(0xFFFFFFFF)).astype(np.uint32), new_offsets


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Union-find over the verified pairs: a cluster label per text (singletons get their own)."""
    if len(pairs) == 0:
        return np.arange(n)
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]
