"""Near-duplicate search: signatures, LSH buckets, verified candidate pairs, clusters and a keep policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np

from pipeline.dedup.buckets import (
    band_pairs_batch,
    components,
    distinct_sets,
    merge_pairs,
    pair_jaccard,
    sorted_unique,
)
from pipeline.dedup.minhash import (
    _PARALLEL_MIN_TEXTS,
    EMPTY,
    MinHashParams,
    estimated_jaccard,
    signatures_and_keys_batch,
    split_signatures_and_keys,
)
from pipeline.dedup.shingles import ShingleSpec, batch_shingles
from pipeline.executors import Executor, LocalExecutor

Verify = Literal["exact", "minhash", "none"]


@dataclass(frozen=True)
class NearDupParams:
    spec: ShingleSpec = field(default_factory=lambda: ShingleSpec("char", 5))
    minhash: MinHashParams = field(default_factory=MinHashParams)
    threshold: float = 0.7
    bands: int = 20
    rows: int = 6
    verify: Verify = "exact"
    max_rounds: int = 3
    workers: int = 0


def _local(params: NearDupParams) -> Executor:
    return LocalExecutor(params.workers or None, min_parallel=_PARALLEL_MIN_TEXTS)


@dataclass
class NearDupResult:
    """Per text: index of the kept text it duplicates (-1: kept), its cluster (-1: none), similarities."""

    kept_of: np.ndarray
    cluster: np.ndarray
    jaccard: np.ndarray
    jaccard_estimated: np.ndarray
    stats: dict = field(default_factory=dict)


class _Similarity:
    """The similarity that decides a pair: exact shingle-set Jaccard, the MinHash estimate, or none."""

    def __init__(self, texts: list[str], sig: np.ndarray, params: NearDupParams):
        self.texts, self.sig, self.params = texts, sig, params
        self.local = np.full(len(texts), -1, dtype=np.int64)
        self.sets = np.empty(0, dtype=np.uint32)
        self.offsets = np.zeros(1, dtype=np.int64)

    def prepare(self, needed: np.ndarray) -> None:
        """Shingle sets of the texts that appear in candidate pairs (only those: usually few)."""
        if self.params.verify != "exact":
            return
        new = needed[self.local[needed] < 0]
        if len(new) == 0:
            return
        hashes, offsets = batch_shingles([self.texts[i] for i in new], self.params.spec)
        sets, offs = distinct_sets(hashes, offsets)
        base = len(self.offsets) - 1
        self.local[new] = base + np.arange(len(new))
        self.offsets = np.concatenate([self.offsets, self.offsets[-1] + offs[1:]])
        self.sets = np.concatenate([self.sets, sets])

    def __call__(self, pairs: np.ndarray) -> np.ndarray:
        if self.params.verify == "exact":
            return pair_jaccard(self.sets, self.offsets, self.local[pairs])
        return estimated_jaccard(self.sig, pairs)


def _verified_pairs(keys: np.ndarray, ids: np.ndarray, sim: _Similarity, params: NearDupParams,
                    n_anchor: int | None, stats: dict, executor: Executor) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs from buckets kept when their similarity reaches the threshold.

    A member whose anchor fails verification is not lost: the texts left with candidates but no
    verified pair go through another bucketing round among themselves (with their anchors), up to
    `max_rounds`, so one odd text heading a bucket cannot hide the true pairs behind it.
    """
    edges, sims = [], []
    sub = np.arange(len(ids))
    for rnd in range(params.max_rounds):
        sub_anchor = None if n_anchor is None else int((sub < n_anchor).sum())
        # Grouped by band: each band's buckets on its own task (Ray) or in this process (local).
        parts = executor.map_batches(partial(band_pairs_batch, sub_anchor), list(keys[:, sub]), batch_size=1,
                                     workers=1)
        local_pairs = merge_pairs(parts, len(sub))
        if len(local_pairs) == 0:
            break
        pairs = ids[sub[local_pairs]]
        stats["candidate_pairs"] = stats.get("candidate_pairs", 0) + len(pairs)
        sim.prepare(sorted_unique(pairs))
        s = np.ones(len(pairs)) if params.verify == "none" else sim(pairs)
        good = s >= params.threshold
        edges.append(pairs[good])
        sims.append(s[good])
        stats["verified_pairs"] = stats.get("verified_pairs", 0) + int(good.sum())
        stats["rounds"] = rnd + 1
        if params.verify == "none":
            break
        linked = np.zeros(len(sim.texts), dtype=bool)
        linked[pairs[good].ravel()] = True
        touched = sorted_unique(sub[local_pairs.ravel()])
        retry = touched[~linked[ids[touched]]]
        if n_anchor is not None:  # reference texts stay available as anchors in every round
            retry = np.union1d(np.arange(n_anchor), retry[retry >= n_anchor])
            if len(retry) == n_anchor:
                break
        elif len(retry) < 2:
            break
        sub = retry
    if not edges:
        return np.empty((0, 2), dtype=np.int64), np.empty(0)
    return np.concatenate(edges), np.concatenate(sims)


def _prepare(texts: list[str], params: NearDupParams, executor: Executor
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signatures of every text and the band keys of those with shingles, computed per batch."""
    if not texts:
        return (np.empty((0, params.minhash.num_perm), dtype=np.uint32), np.empty(0, dtype=np.int64),
                np.empty((params.bands, 0), dtype=np.uint64))
    joined = executor.map_batches(
        partial(signatures_and_keys_batch, params.spec, params.minhash, params.bands, params.rows), texts,
        workers=params.workers or None)
    sig, keys = split_signatures_and_keys(joined, params.minhash.num_perm)
    active = np.flatnonzero(sig[:, 0] != EMPTY)
    return sig, active, keys[:, active]


def find_near_duplicates(texts: list[str], params: NearDupParams, priority: np.ndarray | None = None,
                         executor: Executor | None = None) -> NearDupResult:
    """Near-duplicate clusters among `texts`; per cluster the best text by `priority` (lower wins,
    ties by position) is kept, and every other member is removed only if it reaches the threshold
    against a kept member, so a chain A~B~C never removes a C unlike A (no over-removal by chaining).
    Signatures, band keys and per-band buckets run on `executor` (default: local); verification,
    connected components (union-find) and the keep policy run here, on the candidate pairs only."""
    n = len(texts)
    priority = np.arange(n) if priority is None else np.asarray(priority)
    stats: dict = {"bands": params.bands, "rows": params.rows, "verify": params.verify}
    executor = executor or _local(params)
    sig, active, keys = _prepare(texts, params, executor)
    sim = _Similarity(texts, sig, params)
    edges, _ = _verified_pairs(keys, active, sim, params, None, stats, executor)
    kept_of = np.full(n, -1, dtype=np.int64)
    cluster = np.full(n, -1, dtype=np.int64)
    jac = np.zeros(n)
    members = sorted_unique(edges)
    if len(members):
        labels = components(n, edges)[members]
        _, cluster[members] = np.unique(labels, return_inverse=True)
        _resolve(members, cluster[members], priority, sim, params, kept_of, jac, stats)
    removed = np.flatnonzero(kept_of >= 0)
    est = np.zeros(n)
    est[removed] = estimated_jaccard(sig, np.stack([removed, kept_of[removed]], axis=1))
    stats["clusters"] = int(cluster.max() + 1) if n else 0
    return NearDupResult(kept_of, cluster, jac, est, stats)


def _resolve(members: np.ndarray, labels: np.ndarray, priority: np.ndarray, sim: _Similarity,
             params: NearDupParams, kept_of: np.ndarray, jac: np.ndarray, stats: dict) -> None:
    """Rounds: each cluster keeps its best remaining member; members at or above the threshold
    against it are removed; the rest stay for the next round (they are unlike every kept one)."""
    rounds = 0
    while len(members):
        rounds += 1
        order = np.lexsort((members, priority[members], labels))
        m, lab = members[order], labels[order]
        head = np.ones(len(m), dtype=bool)
        head[1:] = lab[1:] != lab[:-1]
        chosen = m[np.maximum.accumulate(np.where(head, np.arange(len(m)), 0))]
        rest = ~head
        pairs = np.stack([m[rest], chosen[rest]], axis=1)
        s = sim(pairs)
        # Without verification every member of an LSH cluster goes, as a plain MinHashLSH loop does.
        hit = np.ones(len(pairs), dtype=bool) if params.verify == "none" else s >= params.threshold
        kept_of[pairs[hit, 0]] = pairs[hit, 1]
        jac[pairs[hit, 0]] = s[hit]
        members, labels = pairs[~hit, 0], lab[rest][~hit]
    stats["resolve_rounds"] = rounds


def match_reference(texts: list[str], reference: list[str], params: NearDupParams,
                    executor: Executor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each text, the index of its most similar reference text at or above the threshold (-1:
    none) and that similarity. The reference is only matched against, never deduplicated itself."""
    n_ref = len(reference)
    match = np.full(len(texts), -1, dtype=np.int64)
    best = np.zeros(len(texts))
    if not texts or not reference:
        return match, best
    combined = list(reference) + list(texts)
    executor = executor or _local(params)
    sig, active, keys = _prepare(combined, params, executor)
    sim = _Similarity(combined, sig, params)
    n_anchor = int((active < n_ref).sum())
    edges, sims = _verified_pairs(keys, active, sim, params, n_anchor, {}, executor)
    if len(edges):
        # Best reference per text: sort by (text, -similarity) and take each text's first row.
        order = np.lexsort((-sims, edges[:, 1]))
        e, s = edges[order], sims[order]
        first = np.ones(len(e), dtype=bool)
        first[1:] = e[1:, 1] != e[:-1, 1]
        match[e[first, 1] - n_ref] = e[first, 0]
        best[e[first, 1] - n_ref] = s[first]
    return match, best
