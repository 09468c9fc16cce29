"""Benchmark: our batch MinHash-LSH dedup vs a per-record datasketch loop (and rensa), with ground truth.

    python bench/dedup.py                   # 52K and 1M records (baseline on a subsample of the 1M)
    python bench/dedup.py --quick           # 20K records, baseline on 5K: a minute
    python bench/dedup.py --shingle-study   # which shingling separates light from heavy edits
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.dedup.near import find_near_duplicates
from pipeline.dedup.normalise import normalise_text
from pipeline.dedup.planted import planted_corpus, planted_pairs
from pipeline.dedup.shingles import ShingleSpec, exact_jaccard
from pipeline.stages.dedup import DedupConfig

THRESHOLD = 0.7


def char_grams(text: str, n: int = 5) -> list[str]:
    s = normalise_text(text)
    return [s[i:i + n] for i in range(len(s) - n + 1)] if len(s) >= n else ([s] if s else [])


def ours(texts: list[str]) -> np.ndarray:
    found = find_near_duplicates(texts, DedupConfig(threshold=THRESHOLD).near_params())
    return np.flatnonzero(found.kept_of >= 0)


def datasketch_loop(texts: list[str]) -> np.ndarray:
    """The plain loop: MinHash() and update() per shingle, then one LSH query and insert per record."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    removed = []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=128)
        for gram in char_grams(text):
            m.update(gram.encode("utf-8"))
        if lsh.query(m):
            removed.append(i)
        else:
            lsh.insert(str(i), m)
    return np.array(removed, dtype=np.int64)


def rensa_loop(texts: list[str]) -> np.ndarray:
    from rensa import RMinHash, RMinHashLSH

    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=128, num_bands=16)  # needs bands | 128: 16 x 8
    removed = []
    for i, text in enumerate(texts):
        m = RMinHash(num_perm=128, seed=42)
        m.update(char_grams(text))
        if lsh.query(m):
            removed.append(i)
        else:
            lsh.insert(i, m)
    return np.array(removed, dtype=np.int64)


def _child(fn, texts, conn) -> None:
    start = time.perf_counter()
    removed = fn(texts)
    seconds = time.perf_counter() - start
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    conn.send((removed, seconds, peak_kib))


def measure(fn, texts: list[str]) -> tuple[np.ndarray, float, float]:
    """Run in a fresh forked process so each method's peak RSS is its own (texts included)."""
    parent, child = mp.get_context("fork").Pipe()
    proc = mp.get_context("fork").Process(target=_child, args=(fn, texts, child))
    proc.start()
    removed, seconds, peak_kib = parent.recv()
    proc.join()
    return removed, seconds, peak_kib / 1024


def ground_truth(texts: list[str], origin: list[int]) -> np.ndarray:
    """First-seen greedy dedup by exact Jaccard of char 5-gram sets, within each planted cluster
    (texts of different clusters are independent random sentences)."""
    members: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(origin):
        members[c].append(i)
    removed = []
    for idx in members.values():
        if len(idx) < 2:
            continue
        kept: list[set[str]] = []
        for i in idx:
            s = set(char_grams(texts[i]))
            if any(len(s & k) / max(1, len(s | k)) >= THRESHOLD for k in kept):
                removed.append(i)
            else:
                kept.append(s)
    return np.sort(np.array(removed, dtype=np.int64))


def agreement(removed: np.ndarray, truth: np.ndarray) -> str:
    r, t = set(removed.tolist()), set(truth.tolist())
    return (f"removed {len(r):>7}  wrong {len(r - t):>6}  missed {len(t - r):>6}  "
            f"(|diff| {100 * len(r ^ t) / max(1, len(t)):.2f}% of truth)")


def run_size(n: int, baseline_max: int, with_rensa: bool, seed: int) -> None:
    large = (2000, 500) if n < 200_000 else (20_000, 5_000, 2_000)
    texts, origin = planted_corpus(n, seed=seed, dup_share=0.3, large=large)
    print(f"\n== {n:,} synthetic short records (30% in planted clusters, largest {large[0]:,}), "
          f"char 5-grams, 128 perms, threshold {THRESHOLD}, {os.cpu_count()} cores")
    truth = ground_truth(texts, origin)
    print(f"ground truth (exact Jaccard, first seen): removes {len(truth):,}")
    rem, sec, mem = measure(ours, texts)
    print(f"ours              {n / sec:>9,.0f} rec/s  {sec:7.1f} s  peak {mem:7,.0f} MiB  {agreement(rem, truth)}")
    rates = {"ours": n / sec}
    sub_n = min(n, baseline_max)
    sub_texts, sub_origin = texts[:sub_n], origin[:sub_n]
    sub_truth = ground_truth(sub_texts, sub_origin) if sub_n < n else truth
    note = "" if sub_n == n else f"  [first {sub_n:,} records; rate extrapolated]"
    if sub_n < n:
        rem_s, sec_s, _ = measure(ours, sub_texts)
        print(f"ours on subsample {sub_n / sec_s:>9,.0f} rec/s  {sec_s:7.1f} s  {agreement(rem_s, sub_truth)}")
    base, bsec, bmem = measure(datasketch_loop, sub_texts)
    rates["datasketch"] = sub_n / bsec
    print(f"datasketch loop   {sub_n / bsec:>9,.0f} rec/s  {bsec:7.1f} s  peak {bmem:7,.0f} MiB  "
          f"{agreement(base, sub_truth)}{note}")
    ours_sub = rem if sub_n == n else rem_s
    print(f"removed: ours {len(ours_sub):,} vs datasketch {len(base):,} on the same records: "
          f"{100 * abs(len(ours_sub) - len(base)) / max(1, len(base)):.2f}% apart")
    if with_rensa:
        try:
            rr, rsec, rmem = measure(rensa_loop, texts)
            rates["rensa"] = n / rsec
            print(f"rensa loop        {n / rsec:>9,.0f} rec/s  {rsec:7.1f} s  peak {rmem:7,.0f} MiB  "
                  f"{agreement(rr, truth)}")
        except ImportError:
            print("rensa not installed (pip install rensa) - skipped")
    print(f"ratio ours / datasketch loop: {rates['ours'] / rates['datasketch']:.1f}x (target >= 10x)")
    if "rensa" in rates:
        print(f"ratio rensa / ours: {rates['rensa'] / rates['ours']:.1f}x (how far we are from rensa)")


def shingle_study(n_pairs: int) -> None:
    pairs = planted_pairs(n_pairs, seed=1)
    frac = np.array([p[2] for p in pairs])
    light, mid, heavy = frac <= 0.1, (frac > 0.1) & (frac <= 0.2), frac >= 0.4
    print(f"share of planted pairs with exact J >= {THRESHOLD} ({n_pairs} pairs, 6-24 words)")
    print("shingling   edits<=10%  edits 10-20%  edits>=40%")
    for kind, size in [("word", 1), ("word", 2), ("word", 3), ("char", 3), ("char", 4), ("char", 5),
                       ("char", 7)]:
        j = np.array([exact_jaccard(a, b, ShingleSpec(kind, size)) for a, b, _ in pairs]) >= THRESHOLD
        print(f"{kind} {size}-gram  {j[light].mean():10.3f}  {j[mid].mean():12.3f}  {j[heavy].mean():10.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[52_000, 1_000_000])
    ap.add_argument("--baseline-max", type=int, default=52_000,
                    help="run the datasketch loop on at most this many records and extrapolate")
    ap.add_argument("--quick", action="store_true", help="20K records, baseline on 5K")
    ap.add_argument("--no-rensa", action="store_true")
    ap.add_argument("--shingle-study", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.shingle_study:
        shingle_study(3000)
        return
    if args.quick:
        args.sizes, args.baseline_max = [20_000], 5_000
    for n in args.sizes:
        run_size(n, args.baseline_max, not args.no_rensa, args.seed)


if __name__ == "__main__":
    main()
