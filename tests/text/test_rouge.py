"""Our ROUGE-L equals rouge_score's RougeScorer(["rougeL"], use_stemmer=False) F-measure, bit for bit."""

from __future__ import annotations

import random

from rouge_score import rouge_scorer

from pipeline.text.rouge import lcs_length, rouge_l, rouge_tokens

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
TEXTS = [
    "Write a short poem about the ocean.",
    "Write a poem about the deep blue ocean!",
    "Explain why the sky is blue, in plain language.",
    "Classify the sentiment of the following review as positive or negative.",
    "Café naïve résumé – ÜBER 3.14 things; don't stop",
    "",
    "!!!",
    "the the the a a",
    "a the a the",
]


def test_tokens_match_rouge_score_default_tokenizer() -> None:
    for text in TEXTS:
        assert rouge_tokens(text) == SCORER._tokenizer.tokenize(text)


def test_f_measure_identical_on_real_sentences() -> None:
    for a in TEXTS:
        for b in TEXTS:
            assert rouge_l(a, b) == SCORER.score(a, b)["rougeL"].fmeasure, (a, b)


def test_f_measure_identical_on_random_token_sequences() -> None:
    rng = random.Random(7)
    vocab = ["a", "b", "c", "d", "e", "the", "of", "x", "y"]
    for _ in range(1500):
        a = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 25)))
        b = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 25)))
        assert rouge_l(a, b) == SCORER.score(a, b)["rougeL"].fmeasure, (a, b)


def test_bit_parallel_lcs_matches_the_table() -> None:
    rng = random.Random(3)
    for _ in range(500):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]  # past 64 bits
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]
        table = rouge_scorer._lcs_table(a, b)[-1][-1] if a and b else 0
        assert lcs_length(a, b) == table
