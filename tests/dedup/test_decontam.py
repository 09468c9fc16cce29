"""13-gram decontamination finds shared n-grams after normalisation and confirms every hash hit."""

from pipeline.dedup.decontam import ngram_contamination

EVAL = ["Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
        "What is the capital city of Australia today?"]


def test_shared_13_gram_is_found_and_named():
    texts = ["Here is a word problem: natalia sold clips to 48 of her friends in april, and then she sold more.",
             "Natalia sold clips to 48 of her friends.", ""]
    hits = ngram_contamination(texts, EVAL)
    assert hits[0] is not None and hits[0].eval_index == 0
    assert hits[0].ngram == "natalia sold clips to 48 of her friends in april and then she"
    assert hits[1] is None and hits[2] is None


def test_short_eval_item_matches_whole_from_eight_words():
    texts = ["Quiz: what is the capital city of Australia today? Answer briefly.", "What is the capital city?"]
    hits = ngram_contamination(texts, EVAL, n=13, min_n=8)
    assert hits[0] is not None and hits[0].eval_index == 1
    assert hits[1] is None
