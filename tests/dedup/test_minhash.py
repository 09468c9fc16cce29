"""Our batch signatures equal datasketch's, work in its MinHashLSH, and shingling behaves as documented."""

import numpy as np
from datasketch import MinHashLSH
from datasketch.lsh import _optimal_param

from pipeline.dedup.minhash import (
    MinHashParams,
    compute_signatures,
    datasketch_minhash,
    lsh_bands,
    to_lean_minhash,
)
from pipeline.dedup.normalise import exact_key, normalise_text
from pipeline.dedup.planted import planted_corpus
from pipeline.dedup.shingles import ShingleSpec, batch_shingles, exact_jaccard

PARAMS = MinHashParams()


def test_normalise_nfkc_casefold_punctuation_whitespace():
    assert normalise_text("  Ｈello,\tWORLD!!  Straße ") == "hello world strasse"
    assert exact_key(["Write a poem.", ""]) == exact_key(["write   a POEM", ""])
    assert exact_key(["a b", ""]) != exact_key(["a", "b"])


def test_signatures_equal_datasketch_update_for_both_shingle_kinds():
    texts, _ = planted_corpus(120, seed=3, large=())
    texts += ["", "hi", "Ünïcode text — with dashes"]
    for spec in (ShingleSpec("word", 3), ShingleSpec("char", 5)):
        sig = compute_signatures(texts, spec, PARAMS, workers=1)
        for i, text in enumerate(texts):
            assert np.array_equal(datasketch_minhash(text, spec, PARAMS).hashvalues, sig[i])


def test_parallel_signatures_equal_serial(monkeypatch):
    import pipeline.dedup.minhash as mh

    monkeypatch.setattr(mh, "_PARALLEL_MIN_TEXTS", 10)
    texts, _ = planted_corpus(3000, seed=4, large=())
    spec = ShingleSpec("char", 5)
    assert np.array_equal(compute_signatures(texts, spec, PARAMS, workers=2),
                          compute_signatures(texts, spec, PARAMS, workers=1))


def test_lean_minhash_in_datasketch_lsh_finds_the_near_duplicate():
    spec = ShingleSpec("char", 5)
    texts = ["Explain why the daytime sky looks blue to us.", "Explain why the daytime sky looks blue to people.",
             "List three uses of a paper clip."]
    sig = compute_signatures(texts, spec, PARAMS, workers=1)
    lsh = MinHashLSH(threshold=0.7, num_perm=128)
    for i in (0, 2):
        lsh.insert(str(i), to_lean_minhash(sig[i], PARAMS))
    assert lsh.query(to_lean_minhash(sig[1], PARAMS)) == ["0"]


def test_lsh_bands_come_from_datasketch_optimiser():
    assert lsh_bands(0.7, 128, (0.5, 0.5)) == _optimal_param(0.7, 128, 0.5, 0.5)


def test_short_text_is_one_shingle_and_empty_has_none():
    _hashes, offsets = batch_shingles(["one two", "", "a b c d"], ShingleSpec("word", 3))
    assert list(np.diff(offsets)) == [1, 0, 2]
    assert exact_jaccard("a b c d", "a b c d e", ShingleSpec("word", 3)) == 2 / 3
