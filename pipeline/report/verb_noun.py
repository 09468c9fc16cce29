"""A light rule-based verb/direct-object reader for imperative instructions (no parser model needed).

Self-Instruct's Figure 2 used the Berkeley Neural Parser; no model can be downloaded here, so we read
the first word of an imperative instruction as its root verb and the first noun-like word after it
(skipping determiners, pronouns, numbers and common adjectives) as its direct object. It is right for
the common "Write a poem about ..." shape and says "no verb" rather than guess for questions.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Openings that soften an imperative: stripped so "Please write ..." and "Can you write ..." count as "write".
_POLITE = re.compile(
    r"^(?:please|kindly|now|also|then|"
    r"(?:can|could|would|will) you(?: please)?|"
    r"i (?:want|need|would like|'d like) you to|i want to|help me(?: to)?|let's|let us)\s+",
    re.IGNORECASE)
# Leading phrases that introduce context before the imperative ("Given a list, sort it").
_CONTEXT_OPENERS = ("given", "for", "in", "using", "based", "with", "from", "after", "if", "when", "as")
# First words that show the instruction is not an imperative (questions, statements, noun phrases).
_NOT_VERBS = _wordset("""
what how why who whom whose which when where whether is are was were am do does did can could would will
shall should may might must have has had the a an this that these those there here i you we they he she it
my your our their his her its yes no not if given for in on at by of to from with about as and or but so
one two three four five six seven eight nine ten
""")
_DETERMINERS = _wordset("""
a an the this that these those some any each every all both either neither no another other such
my your our their his her its one two three four five six seven eight nine ten several few many more most
much following given same certain
""")
_PRONOUNS = _wordset("me us him her them it you myself yourself someone something anyone everyone")
# Adjectives and adverbs that commonly sit between the verb and its object in instructions.
_MODIFIERS = _wordset("""
short long brief new simple good bad best better creative funny interesting detailed concise clear possible
different similar main key important few top first last next single random original appropriate correct
complete full basic common famous popular small large big positive negative formal informal catchy
professional personal persuasive informative descriptive quick unique specific general overall
odd even prime whole entire practical thoughtful likely vivid warm terse harsh unusual everyday
briefly quickly carefully clearly concisely
""")
_STOP_OBJECT = _wordset("""
how why what who which when where whether if that to of in on at by for with about from into as than and or
but is are be
""")
# Verbs followed by a particle that belongs to them ("Come up with five names": the object is "name").
_PHRASAL = _wordset("""
come_up_with think_of pull_out pick_out point_out look_up put_together boil_down break_down sum_up
figure_out work_out fill_in set_up write_down write_out carry_out find_out make_up
""")
# A second word that makes the first a subject, not an imperative verb ("Leo is the son of ...").
_COPULAS = _wordset("is are was were has have had does do did can could will would should may must")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


@dataclass(frozen=True)
class VerbNoun:
    verb: str | None
    noun: str | None


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(lowercased word, whether it was written capitalised) for every word."""
    return [(w.lower(), w[0].isupper()) for w in _WORD.findall(text)]


def _phrasal_verb(words: list[str]) -> tuple[str, int]:
    """The verb (with its particle when it is a known phrasal verb) and how many words it spans."""
    for n in (3, 2):
        if "_".join(words[:n]) in _PHRASAL:
            return " ".join(words[:n]), n
    return words[0], 1


def _is_modifier(word: str, capitalised: bool, following: str | None) -> bool:
    """Words before the head noun: determiners, adjectives, possessives ("customer's"), compound
    adjectives ("four-week") and a capitalised name qualifying a noun ("Python function", "SQL query")."""
    if word in _DETERMINERS or word in _PRONOUNS or word in _MODIFIERS or word.endswith(("'s", "'")):
        return True
    next_is_word = following is not None and following not in _STOP_OBJECT
    return next_is_word and ("-" in word or capitalised)


def _clause(instruction: str) -> str:
    """The imperative clause: politeness stripped, a leading context phrase ("Given X,") skipped."""
    text = instruction.strip().lstrip("\"'*#-•0123456789.) ")
    text = _POLITE.sub("", text, count=2)
    first = _words(text[:40])[:1]
    if first and first[0] in _CONTEXT_OPENERS and "," in text:
        text = _POLITE.sub("", text.split(",", 1)[1].strip())
    return text


def singular(noun: str) -> str:
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith(("sses", "ches", "shes", "xes")):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith(("ss", "us", "is", "ous", "ics", "news", "series")) \
            and len(noun) > 3:
        return noun[:-1]
    return noun


def verb_noun(instruction: str) -> VerbNoun:
    """Root verb and direct-object noun of one instruction; either is None when the rule cannot tell."""
    tokens = _tokens(_clause(instruction))
    while tokens and tokens[0][0] in _MODIFIERS:  # "Briefly explain ..."
        tokens = tokens[1:]
    words = [w for w, _ in tokens]
    if (not words or len(words[0]) < 2 or words[0] in _NOT_VERBS or (len(words) > 1 and words[1] in _COPULAS)
            or (words[0].endswith("ing") and len(words[0]) > 5)):  # a gerund opening is not an imperative
        return VerbNoun(None, None)
    verb, span = _phrasal_verb(words)
    for i in range(span, min(span + 6, len(tokens))):
        word, capitalised = tokens[i]
        following = words[i + 1] if i + 1 < len(words) else None
        if word in _STOP_OBJECT:
            break
        if _is_modifier(word, capitalised, following):
            continue
        return VerbNoun(verb, singular(word))
    return VerbNoun(verb, None)


def verb_noun_counts(instructions: list[str]) -> tuple[Counter, dict[str, Counter], int]:
    """(verb counts, noun counts per verb, instructions with no verb found)."""
    verbs: Counter = Counter()
    nouns: dict[str, Counter] = {}
    unparsed = 0
    for text in instructions:
        vn = verb_noun(text)
        if vn.verb is None:
            unparsed += 1
            continue
        verbs[vn.verb] += 1
        if vn.noun:
            nouns.setdefault(vn.verb, Counter())[vn.noun] += 1
    return verbs, nouns, unparsed
