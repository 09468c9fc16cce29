"""The four elimination rules of Evol-Instruct (Xu et al., 2023, section 3.3) as small pure checks."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.evol.parse import normalise

# Rule 4: the rewrite copies wording of the evolving prompt itself; the paper's examples are "given
# prompt", "rewritten prompt" and "#Rewritten Prompt#"; the rest are the labels our own templates use.
COPIED_PROMPT_PHRASES: tuple[str, ...] = (
    "given prompt", "rewritten prompt", "original prompt", "created prompt", "rewritten instruction",
)
# Rule 2: the response says "sorry" and is shorter than 80 words (Xu et al., 2023, section 3.3).
STRUGGLE_MAX_WORDS = 80

# Unicode-aware, so a response in another script is words, not punctuation.
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")
_SORRY = re.compile(r"\bsorry\b", re.IGNORECASE)

# Common English function words (our own list): a response made only of these says nothing.
_STOPWORD_TEXT = """
a about above after again against all am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself
him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most
mustn't my myself no nor not now of off on once only or other ought our ours ourselves out over own same shan't
she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves then
there there's these they they'd they'll they're they've this those through to too under until up very was
wasn't we we'd we'll we're we've were weren't what what's when when's where where's which while who who's
whom why why's will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
yes ok okay oh well also
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())


def copied_prompt_phrase(instruction: str, phrases: Sequence[str] = COPIED_PROMPT_PHRASES) -> str | None:
    """The first phrase of the evolving prompt that the rewrite repeats (case and spacing ignored), or None."""
    text = normalise(instruction)
    for phrase in phrases:
        if normalise(phrase) and normalise(phrase) in text:
            return phrase
    return None


def word_count(text: str) -> int:
    return len(text.split())


def struggle_word_count(response: str, max_words: int = STRUGGLE_MAX_WORDS) -> int | None:
    """The response's word count when it says "sorry" in under `max_words` words (rule 2), else None."""
    words = word_count(response)
    if words < max_words and _SORRY.search(response):
        return words
    return None


def only_stopwords(response: str, stopwords: frozenset[str] = STOPWORDS) -> bool:
    """Rule 3: the response holds nothing but punctuation and stop words (an empty one included)."""
    return all(w.lower().replace("\u2019", "'") in stopwords for w in _WORD.findall(response))


def is_identical(original: str, rewrite: str) -> bool:
    """A rewrite equal to its original up to case and spacing has no information gain (rule 1), no judge needed."""
    return normalise(original) == normalise(rewrite)
