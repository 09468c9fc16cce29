"""The four elimination rules as pure checks, each on a crafted text."""

from __future__ import annotations

from pipeline.evol.elimination import copied_prompt_phrase, is_identical, only_stopwords, struggle_word_count


def test_rule4_copied_prompt_words() -> None:
    assert copied_prompt_phrase("Rewrite the Given  Prompt so that it is harder.") == "given prompt"
    assert copied_prompt_phrase("#Rewritten Prompt# Explain gravity.") == "rewritten prompt"
    assert copied_prompt_phrase("Compare the original prompt with yours.") == "original prompt"
    assert copied_prompt_phrase("Explain gravity to a child.") is None
    assert copied_prompt_phrase("Explain the prompt.", ["explain the"]) == "explain the"


def test_rule2_sorry_and_short() -> None:
    assert struggle_word_count("I'm sorry, but I cannot answer that.") == 7
    assert struggle_word_count("SORRY: not possible.") == 3
    long_apology = "Sorry for the delay. " + "word " * 80
    assert struggle_word_count(long_apology) is None  # 84 words: long enough to be a real answer
    assert struggle_word_count("Gravity pulls masses together.") is None
    assert struggle_word_count("sorrynotsorry is a hashtag") is None  # whole word only
    assert struggle_word_count("Sorry, " + "x " * 10, max_words=5) is None


def test_rule3_only_stopwords_and_punctuation() -> None:
    assert only_stopwords("The, of and... to!")
    assert only_stopwords("")
    assert only_stopwords("?!  ...")
    assert only_stopwords("It's what they'd do.")
    assert not only_stopwords("The answer is 42.")
    assert not only_stopwords("Gravity.")
    assert not only_stopwords("重力は質量を引き寄せる。")  # another script is words, not punctuation


def test_rule1_identical_rewrite() -> None:
    assert is_identical("Explain  gravity.", "explain gravity.")
    assert not is_identical("Explain gravity.", "Explain gravity to a child.")
