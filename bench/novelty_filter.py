"""Benchmark: our indexed ROUGE-L novelty filter against Alpaca's exhaustive rouge_score scan of the pool.

The stream is synthetic (no downloads): instructions from a template grammar with a shared vocabulary
(the fake server's bootstrap grammar), plus planted near-duplicates of earlier instructions (one word
replaced, dropped or added, or two words swapped). For each pool size, the pool is the first N stream
instructions and the candidates are the instructions that follow; both methods score every candidate
against the same pool, pre-tokenised (as Alpaca's script does), and decide "reject if ROUGE-L F > 0.7".
The exhaustive baseline is slow, so at big pools it runs on the first candidates only (printed).

    python bench/novelty_filter.py                      # 1K, 5K, 20K
    python bench/novelty_filter.py --sizes 1000 --candidates 100 --baseline-candidates 50   # quick
"""

from __future__ import annotations

import argparse
import random
import time

from rouge_score import rouge_scorer

from pipeline.testing.responders.self_instruct import synthetic_instruction
from pipeline.text.novelty import NoveltyIndex
from pipeline.text.rouge import rouge_tokens

THRESHOLD = 0.7  # Self-Instruct / Alpaca: reject when ROUGE-L F > 0.7
_FILLERS = ("carefully", "short", "simple", "detailed", "new", "quick", "clear", "useful")


def near_duplicate(text: str, rng: random.Random) -> str:
    words = text.split()
    i = rng.randrange(len(words))
    op = rng.randrange(4)
    if op == 0:
        words[i] = rng.choice(_FILLERS)
    elif op == 1 and len(words) > 4:
        del words[i]
    elif op == 2:
        words.insert(i, rng.choice(_FILLERS))
    else:
        j = rng.randrange(len(words))
        words[i], words[j] = words[j], words[i]
    return " ".join(words)


def instruction_stream(n: int, seed: int, dup_rate: float) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        if out and rng.random() < dup_rate:
            out.append(near_duplicate(rng.choice(out), rng))
        else:
            out.append(synthetic_instruction(rng))
    return out


def exhaustive_max(candidate: list[str], pool: list[list[str]]) -> float:
    """Alpaca's check: rouge_score's LCS F-measure against every pool instruction."""
    return max((rouge_scorer._score_lcs(candidate, p).fmeasure for p in pool), default=0.0)


def run_size(size: int, stream_tokens: list[list[str]], n_cand: int, n_base: int) -> dict:
    pool = stream_tokens[:size]
    candidates = stream_tokens[size: size + n_cand]
    started = time.perf_counter()
    index = NoveltyIndex()
    for i, toks in enumerate(pool):
        index.add(str(i), tokens=toks)
    build_s = time.perf_counter() - started

    exact_before = index.stats.exact_scores
    started = time.perf_counter()
    ours = [index.nearest(c) for c in candidates]
    ours_s = (time.perf_counter() - started) / len(candidates)
    exact_per_query = (index.stats.exact_scores - exact_before) / len(candidates)

    sample = candidates[:n_base]
    started = time.perf_counter()
    base = [exhaustive_max(c, pool) for c in sample]
    base_s = (time.perf_counter() - started) / len(sample)

    ours_scores = [o.score if o else 0.0 for o in ours[:n_base]]
    agree = sum((o > THRESHOLD) == (b > THRESHOLD) for o, b in zip(ours_scores, base))
    wrong_accepts = sum(o <= THRESHOLD < b for o, b in zip(ours_scores, base))
    same_max = sum(o == b for o, b in zip(ours_scores, base))
    rejected = sum(b > THRESHOLD for b in base)
    return {"size": size, "build_s": build_s, "ours_s": ours_s, "base_s": base_s, "n_cand": len(candidates),
            "n_base": len(sample), "agree": agree, "wrong_accepts": wrong_accepts, "same_max": same_max,
            "rejected": rejected, "exact_per_query": exact_per_query}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--candidates", type=int, default=500, help="candidates scored by ours per size")
    parser.add_argument("--baseline-candidates", type=int, nargs="+", default=[300, 120, 60],
                        help="candidates scored exhaustively, per size (last value repeats)")
    parser.add_argument("--dup-rate", type=float, default=0.15, help="share of planted near-duplicates")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    total = max(args.sizes) + args.candidates
    stream = instruction_stream(total, args.seed, args.dup_rate)
    tokens = [rouge_tokens(s) for s in stream]
    mean_len = sum(map(len, tokens)) / len(tokens)
    print(f"stream: {total} synthetic instructions, {args.dup_rate:.0%} planted near-duplicates, "
          f"{mean_len:.1f} rouge tokens on average; reject if ROUGE-L F > {THRESHOLD}")
    print(f"{'pool':>6} {'exhaustive/cand':>16} {'ours/cand':>11} {'ratio':>8} {'agreement':>16} "
          f"{'same max':>9} {'wrong acc':>9} {'rejected':>8} {'exact LCS/cand':>14} {'index build':>11}")
    for k, size in enumerate(args.sizes):
        n_base = args.baseline_candidates[min(k, len(args.baseline_candidates) - 1)]
        r = run_size(size, tokens, args.candidates, min(n_base, args.candidates))
        agreement = f"{r['agree']}/{r['n_base']} {r['agree'] / r['n_base']:.1%}"
        print(f"{size:>6} {r['base_s'] * 1e3:>13.1f} ms {r['ours_s'] * 1e6:>8.0f} us "
              f"{r['base_s'] / r['ours_s']:>7.0f}x {agreement:>16} {r['same_max']:>9} {r['wrong_accepts']:>9} "
              f"{r['rejected']:>8} {r['exact_per_query']:>14.1f} {r['build_s']:>10.2f}s")
        print(f"       (exhaustive on the first {r['n_base']} of {r['n_cand']} candidates; "
              f"ours timed on all {r['n_cand']})")


if __name__ == "__main__":
    main()
