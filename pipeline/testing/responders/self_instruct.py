"""Canned fake-server replies for the Self-Instruct prompts (instruction generation, classification check)."""

from __future__ import annotations

import hashlib
import random
import re

from pipeline.testing.fake_server import FakeRequest
from pipeline.testing.responders.rule import Rule

# Phrases that only our prompts under prompts/self_instruct/ contain.
BOOTSTRAP_PHRASE = "Extend the list with new requests"
CLASSIFICATION_PHRASE = "is a classification task, meaning that its answer"
INPUT_FIRST_PHRASE = "An example gives an input for the request"
OUTPUT_FIRST_PHRASE = "first pick one of the possible class labels"
ALPACA_PHRASE = "varied tasks for teaching an AI assistant"

_TOPICS = ("coral reefs", "remote work", "sourdough baking", "electric cars", "urban gardening", "black holes",
           "the printing press", "sleep hygiene", "public libraries", "honeybees", "compound interest",
           "volcanoes", "chess openings", "recycling plastics", "the Roman Empire", "marathon training",
           "solar panels", "jazz improvisation", "tide pools", "vaccines", "board games", "cloud computing",
           "migrating birds", "minimalist living", "ancient Egypt", "password security", "rainforests",
           "container shipping", "meditation", "origami", "wind turbines", "the stock market", "glaciers",
           "street food", "first aid", "language learning", "bicycle commuting", "tea ceremonies",
           "quantum computing", "desert ecosystems", "budget travel", "podcasting", "beekeeping", "typography")
_AUDIENCES = ("children", "retirees", "new employees", "high school students", "tourists", "engineers",
              "small business owners", "nurses", "first-time parents", "college freshmen")
_GENRES = ("limerick", "short story", "haiku", "fable", "product description", "news headline", "riddle",
           "dialogue", "speech", "slogan")
_TONES = ("formal", "friendly", "persuasive", "humorous", "concise", "optimistic", "neutral")
_NUMBERS = ("two", "three", "four", "five", "six", "seven")
_THINGS = ("sentence", "tweet", "customer review", "email subject line", "headline", "paragraph")
_LABEL_PAIRS = (("positive", "negative"), ("fact", "opinion"), ("formal", "informal"), ("spam", "not spam"),
                ("urgent", "not urgent"), ("sarcastic", "sincere"))
_ROLES = ("landlord", "teacher", "software developer", "librarian", "city council member", "dentist")
_LANGUAGES = ("French", "Spanish", "German", "Italian", "Portuguese")
_TEMPLATES = (
    "Write a {tone} {genre} about {topic} for {audience}.",
    "Explain how {topic} affects {topic2} in {n} sentences.",
    "Give {n} practical tips about {topic} for {audience}.",
    "Classify the following {thing} as {a} or {b}.",
    "Is the given {thing} about {topic} {a} or {b}? Answer with one word.",
    "Summarize the main arguments for and against {topic} in plain language.",
    "Translate this short note about {topic} into {language}.",
    "Rewrite the given {thing} so that it sounds more {tone}.",
    "Compare {topic} with {topic2} and point out one surprising similarity.",
    "List {n} questions a {role} might ask about {topic}.",
    "Suggest a catchy name for a club devoted to {topic}.",
    "Write a {tone} email to a {role} asking for advice on {topic}.",
    "Describe a typical day of a {role} who cares about {topic}.",
    "What misconceptions do {audience} have about {topic}?",
    "Create a {n}-step plan for {audience} who want to learn about {topic}.",
    "Find the grammatical errors in the following {thing} and correct them.",
    "Argue briefly that {topic} matters more than {topic2}.",
    "Invent a {genre} in which a {role} discovers {topic}.",
    "How would a {role} explain {topic} to {audience}?",
    "Name {n} books or films that deal with {topic}.",
)
# Optional openings and closings multiply the variety, as the requests of a real model vary.
_OPENINGS = ("", "", "", "For a school newsletter, ", "In your own words, ", "Briefly, ", "As a {role}, ",
             "Without jargon, ", "For {audience}, ", "Step by step, ")
_CLOSINGS = ("", "", "", " Keep it under {n} sentences.", " Use a {tone} voice.", " Mention {topic2} once.",
             " End with a question.", " Avoid technical terms.", " Include one real example.",
             " Use bullet points.", " Address it to {audience}.")
_BLACKLISTED = ("Draw a simple map showing where {topic} can be found.",
                "Plot the growth of {topic} over the last decade.")
_SENTENCES = ("This is a clear and useful answer.", "It covers the main points briefly.",
              "The idea is easy to follow.", "Each step builds on the previous one.",
              "Most people find this approach helpful.", "A short example makes it concrete.")


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def synthetic_instruction(rng: random.Random) -> str:
    """One instruction from a small grammar with a shared vocabulary (also used by the benchmark)."""
    a, b = rng.choice(_LABEL_PAIRS)
    topic, topic2 = rng.sample(_TOPICS, 2)
    slots = {"tone": rng.choice(_TONES), "genre": rng.choice(_GENRES), "topic": topic, "topic2": topic2,
             "audience": rng.choice(_AUDIENCES), "n": rng.choice(_NUMBERS), "thing": rng.choice(_THINGS),
             "a": a, "b": b, "role": rng.choice(_ROLES), "language": rng.choice(_LANGUAGES)}
    opening = rng.choice(_OPENINGS).format(**slots)
    core = rng.choice(_TEMPLATES).format(**slots)
    if opening:
        core = core[0].lower() + core[1:]
    return opening + core + rng.choice(_CLOSINGS).format(**slots)


def _last(pattern: str, text: str) -> re.Match[str] | None:
    found = list(re.finditer(pattern, text, re.MULTILINE))
    return found[-1] if found else None


def _bootstrap_reply(request: FakeRequest) -> str:
    text = request.prompt_text
    shown = re.findall(r"^Task \d+: (.+)$", text, re.MULTILINE)
    marker = _last(r"^Task (\d+):\s*$", text)
    first = int(marker.group(1)) if marker else len(shown) + 1
    lines = []
    for number in range(first, first + 9):  # one more than the stop sequence lets through
        rng = _rng("bootstrap", text, request.choice_index, number)
        roll = rng.random()
        if roll < 0.08 and shown:  # a near-copy of a shown task: the novelty filter must catch it
            item = rng.choice(shown)
        elif roll < 0.12:
            item = rng.choice(_BLACKLISTED).format(topic=rng.choice(_TOPICS))
        else:
            item = synthetic_instruction(rng)
        lines.append(item if number == first else f"Task {number}: {item}")
    return "\n".join(lines)


def _classification_reply(request: FakeRequest) -> str:
    task = _last(r"^Task: (.+)$", request.prompt_text)
    instruction = task.group(1) if task else ""
    clf = re.search(r"\b(classify|categori[sz]e|label|sentiment|true or false|answer with one word)\b",
                    instruction, re.IGNORECASE)
    return "Yes" if clf else "No"


def _sentence(rng: random.Random, words: int = 2) -> str:
    return " ".join(rng.sample(_SENTENCES, words))


def _input_first_reply(request: FakeRequest) -> str:
    task = _last(r"^Task: (.+)$", request.prompt_text)
    instruction = task.group(1) if task else ""
    rng = _rng("instances", instruction, request.choice_index)
    needs_input = re.search(r"\b(given|following|this)\b", instruction, re.IGNORECASE)
    blocks = []
    for k in range(1, (rng.randint(2, 4) if needs_input else 1) + 1):
        source = f"A note about {rng.choice(_TOPICS)} number {k}." if needs_input else "<noinput>"
        blocks.append(f"Input: {source}\nOutput: {_sentence(rng)} (example {k})")
    return _examples(blocks)


def _examples(blocks: list[str]) -> str:
    """The prompt ends with "Example 1", so the reply starts with the first block's fields."""
    return "".join(b if k == 0 else f"\n\nExample {k + 1}\n{b}" for k, b in enumerate(blocks))


def _output_first_reply(request: FakeRequest) -> str:
    task = _last(r"^Task: (.+)$", request.prompt_text)
    instruction = task.group(1) if task else ""
    pair = re.search(r"\b([\w ]+?) or ([\w ]+?)[.?]", instruction)
    labels = (pair.group(1).split()[-1], pair.group(2)) if pair else ("Yes", "No")
    rng = _rng("labels", instruction, request.choice_index)
    blocks = [f"Class label: {labels[k % 2]}\nInput: A {labels[k % 2]} remark about {rng.choice(_TOPICS)}, "
              f"case {k + 1}." for k in range(rng.randint(2, 4))]
    return _examples(blocks)


def _alpaca_reply(request: FakeRequest) -> str:
    text = request.prompt_text
    marker = _last(r"^(\d+)\. Instruction:\s*$", text)
    first = int(marker.group(1)) if marker else 4
    size = re.search(r"List of (\d+) tasks:", text)
    last = int(size.group(1)) if size else 20
    blocks = []
    for number in range(first, last + 1):  # the stop sequence cuts the final item
        rng = _rng("alpaca", text, request.choice_index, number)
        instruction = synthetic_instruction(rng)
        source = f"A short passage about {rng.choice(_TOPICS)}." if "given" in instruction else "<noinput>"
        head = f" {instruction}" if number == first else f"{number}. Instruction: {instruction}"
        blocks.append(f"{head}\n{number}. Input:\n{source}\n{number}. Output:\n{_sentence(rng)}")
    return "\n###\n".join(blocks)


def _has(phrase: str):
    return lambda request: phrase in request.prompt_text


RULES: list[Rule] = [
    Rule("self_instruct.bootstrap", _has(BOOTSTRAP_PHRASE), _bootstrap_reply),
    Rule("self_instruct.classification", _has(CLASSIFICATION_PHRASE), _classification_reply),
    Rule("self_instruct.instances_input_first", _has(INPUT_FIRST_PHRASE), _input_first_reply),
    Rule("self_instruct.instances_output_first", _has(OUTPUT_FIRST_PHRASE), _output_first_reply),
    Rule("self_instruct.alpaca", _has(ALPACA_PHRASE), _alpaca_reply),
]
