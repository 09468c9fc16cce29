"""Text normalisation shared by exact and near-duplicate matching (NFKC, casefold, no punctuation)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Punctuation and symbols become spaces, so "well-known" and "well known" match; `_` counts as punctuation.
_PUNCT = re.compile(r"[^\w\s]|_")
_SPACE = re.compile(r"\s+")
# ASCII fast path: str.translate is ~10x faster than the regex and gives the same result on ASCII.
_ASCII_PUNCT = str.maketrans({c: " " for c in map(chr, range(128)) if _PUNCT.match(c)})


def normalise_text(text: str) -> str:
    """NFKC, case-folded, punctuation stripped, whitespace collapsed to single spaces."""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_PUNCT).split())
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", _PUNCT.sub(" ", text)).strip()


def normalised_words(text: str) -> list[str]:
    return normalise_text(text).split()


def exact_key(parts: list[str]) -> str:
    """A hash of the normalised fields; the field separator keeps ("a b", "") apart from ("a", "b")."""
    blob = "\x1f".join(normalise_text(p) for p in parts)
    return hashlib.blake2b(blob.encode("utf-8"), digest_size=16).hexdigest()
