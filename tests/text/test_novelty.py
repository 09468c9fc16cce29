"""The novelty index finds the same highest ROUGE-L (and makes the same > 0.7 decisions) as a full scan."""

from __future__ import annotations

import random

from rouge_score import rouge_scorer

from pipeline.testing.responders.self_instruct import synthetic_instruction
from pipeline.text.novelty import NoveltyIndex, occurrence_keys
from pipeline.text.rouge import rouge_tokens


def _exhaustive(candidate: list[str], pool: list[list[str]]) -> tuple[float, int]:
    scores = [rouge_scorer._score_lcs(candidate, p).fmeasure for p in pool]
    best = max(scores)
    return best, scores.index(best)


def test_occurrence_keys_make_multisets_sets() -> None:
    assert occurrence_keys(["a", "b", "a", "a"]) == ["a", "b", "a#2", "a#3"]


def test_empty_pool_and_no_shared_token() -> None:
    index = NoveltyIndex()
    assert index.nearest(["a"]) is None
    index.add("x", "completely different words")
    found = index.nearest(rouge_tokens("nothing shared here"))
    assert found is not None and found.score == 0.0


def test_same_maximum_and_decisions_as_exhaustive_scan() -> None:
    rng = random.Random(11)
    texts: list[str] = []
    for _ in range(300):
        if texts and rng.random() < 0.25:  # near-duplicates: a word dropped or replaced
            words = rng.choice(texts).split()
            words[rng.randrange(len(words))] = rng.choice(["new", "short", "the"])
            texts.append(" ".join(words))
        else:
            texts.append(synthetic_instruction(rng))
    pool_tokens = [rouge_tokens(t) for t in texts[:200]]
    index = NoveltyIndex()
    for i, toks in enumerate(pool_tokens):
        index.add(str(i), tokens=toks)
    rejected = 0
    for text in texts[200:]:
        toks = rouge_tokens(text)
        found = index.nearest(toks)
        best, best_index = _exhaustive(toks, pool_tokens)
        assert found is not None and found.score == best
        if best > 0:
            assert found.index == best_index  # ties resolve to the earliest pool text, like max()
        rejected += best > 0.7
        assert index.exceeds(toks, 0.7)[0] == (best > 0.7)
    assert 0 < rejected < 100  # the stream exercises both decisions
    assert index.stats.exact_scores < 100 * 200 / 5  # far fewer exact scores than a full scan


def test_repeated_tokens_bound_is_still_an_upper_bound() -> None:
    index = NoveltyIndex()
    index.add("a", tokens=["x", "x", "x", "y"])
    index.add("b", tokens=["y", "x"])
    found = index.nearest(["x", "y", "x"])
    best, best_index = _exhaustive(["x", "y", "x"], [["x", "x", "x", "y"], ["y", "x"]])
    assert (found.score, found.index) == (best, best_index)
