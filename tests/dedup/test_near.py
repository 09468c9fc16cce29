"""Near-duplicate search on planted corpora: recall and false positives at known Jaccard, no survivors."""

import numpy as np
import pytest

from pipeline.dedup.minhash import MinHashParams, compute_signatures
from pipeline.dedup.near import NearDupParams, find_near_duplicates, match_reference
from pipeline.dedup.normalise import normalise_text
from pipeline.dedup.planted import planted_corpus, planted_pairs
from pipeline.dedup.shingles import ShingleSpec, exact_jaccard
from pipeline.stages.dedup import DedupConfig

DEFAULT = DedupConfig().near_params()


def _pair_outcome(params: NearDupParams, n_pairs: int = 500):
    pairs = planted_pairs(n_pairs, seed=11)
    texts = [t for a, b, _ in pairs for t in (a, b)]
    found = find_near_duplicates(texts, params)
    true_j = np.array([exact_jaccard(a, b, params.spec) for a, b, _ in pairs])
    caught = np.array([found.kept_of[2 * i + 1] == 2 * i or found.kept_of[2 * i] == 2 * i + 1
                       for i in range(len(pairs))])
    return true_j, caught


@pytest.mark.parametrize("verify", ["exact", "minhash", "none"])
def test_planted_pairs_recall_and_false_positive_rate(verify):
    params = DedupConfig(verify=verify).near_params()
    true_j, caught = _pair_outcome(params)
    high, low = true_j >= 0.8, true_j <= 0.5
    assert high.sum() > 50 and low.sum() > 50
    recall, fp = caught[high].mean(), caught[low].mean()
    assert recall >= 0.95, f"recall {recall:.3f} at J>=0.8 ({verify})"
    assert fp <= 0.05, f"false-positive rate {fp:.3f} at J<=0.5 ({verify})"


def _char_grams(text: str, n: int = 5) -> set[str]:
    """An independent shingler (Python strings, no hashing) for the exhaustive check."""
    s = normalise_text(text)
    return {s[i:i + n] for i in range(len(s) - n + 1)} if len(s) >= n else {s} - {""}


def test_no_surviving_pair_reaches_threshold_exhaustive():
    texts, _ = planted_corpus(700, seed=5, dup_share=0.4, large=(120,))
    found = find_near_duplicates(texts, DEFAULT)
    kept = [t for t, k in zip(texts, found.kept_of, strict=True) if k < 0]
    assert len(kept) < len(texts) - 100
    sets = [_char_grams(t) for t in kept]
    worst = max(len(a & b) / len(a | b) for i, a in enumerate(sets) for b in sets[i + 1:])
    assert worst < DEFAULT.threshold
    # Every removal is justified: the removed text reaches the threshold against its kept text.
    for i in np.flatnonzero(found.kept_of >= 0):
        a, b = _char_grams(texts[i]), _char_grams(texts[found.kept_of[i]])
        assert len(a & b) / len(a | b) >= DEFAULT.threshold


def test_no_surviving_pair_reaches_threshold_in_estimate_with_minhash_verification():
    params = DedupConfig(verify="minhash").near_params()
    texts, _ = planted_corpus(700, seed=6, dup_share=0.4, large=(120,))
    found = find_near_duplicates(texts, params)
    keep = np.flatnonzero(found.kept_of < 0)
    sig = compute_signatures([texts[i] for i in keep], params.spec, MinHashParams(), workers=1)
    est = (sig[:, None, :] == sig[None, :, :]).mean(axis=2)
    np.fill_diagonal(est, 0)
    assert est.max() < params.threshold


def test_chain_does_not_over_remove():
    # a ~ b and b ~ c, but a and c are far apart: only b may go (with first-seen, a is kept).
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    b = "alpha beta gamma delta epsilon zeta eta theta lambda mu"
    c = "omega beta gamma delta epsilon zeta eta theta lambda mu"
    params = NearDupParams(spec=ShingleSpec("word", 1), threshold=0.6)
    assert exact_jaccard(a, c, params.spec) < 0.6 <= exact_jaccard(a, b, params.spec)
    found = find_near_duplicates([a, b, c], params)
    assert list(found.kept_of) == [-1, 0, -1]
    none = find_near_duplicates([a, b, c], NearDupParams(spec=ShingleSpec("word", 1), threshold=0.6,
                                                          verify="none"))
    assert (none.kept_of >= 0).sum() >= 1


def test_priority_picks_the_kept_member():
    texts = ["Write a short story about a brave little robot.", "Write a short story about a brave little robot!!",
             "Write a short story about the brave little robot."]
    found = find_near_duplicates(texts, DEFAULT, priority=np.array([2, 0, 1]))
    assert list(found.kept_of) == [1, -1, 1]
    assert found.cluster[0] == found.cluster[1] == found.cluster[2] >= 0


def test_match_reference_does_not_dedup_the_reference():
    ref = ["Explain why the daytime sky looks blue.", "Explain why the daytime sky looks blue!"]
    texts = ["Explain why the day time sky looks blue.", "Name three mammals that can fly."]
    match, sim = match_reference(texts, ref, DEFAULT)
    assert match[0] in (0, 1) and sim[0] >= 0.7 and match[1] == -1
