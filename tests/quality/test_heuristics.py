"""Each heuristic quality filter drops a record it must (exact reason and value) and keeps a close one."""

from __future__ import annotations

import pytest

from pipeline.quality.blacklist import BlacklistConfig, BlacklistFilter
from pipeline.quality.copying import CopyFilter
from pipeline.quality.encoding import EncodingFilter
from pipeline.quality.length import EmptyOutputFilter, FieldBounds, LengthConfig, LengthFilter
from pipeline.quality.refusal import RefusalConfig, RefusalFilter
from pipeline.quality.repetition import RepetitionFilter, duplicate_line_fraction, top_ngram_share
from pipeline.quality.truncation import TruncationConfig, TruncationFilter
from pipeline.records import Message, Record

PROSE = ("Photosynthesis lets plants turn light into chemical energy. Chlorophyll absorbs red and blue light, "
         "water is split to release oxygen, and carbon dioxide is fixed into sugars that feed the plant. "
         "The sugars are stored as starch or used to build cellulose for new growth, and the oxygen leaves "
         "through small pores in the leaves called stomata.")


def rec(instruction: str = "Explain photosynthesis briefly.", input: str = "", output: str = PROSE,
        **meta) -> Record:
    return Record(instruction=instruction, input=input, output=output, meta=meta)


def test_empty_output() -> None:
    f = EmptyOutputFilter()
    assert f.filter(rec(output="  \n")) == ("empty_output", 3)
    assert f.filter(rec(output=" ...")) == ("empty_output", 4)
    assert f.filter(rec(output="4")) is None  # a bare number is an answer


def test_length_bounds_per_field() -> None:
    f = LengthFilter(LengthConfig(output=FieldBounds(max_words=10), instruction=FieldBounds(min_words=2)))
    assert f.filter(rec(output=" ".join(["word"] * 11))) == ("output_too_many_words", 11)
    assert f.filter(rec(output=" ".join(["word"] * 10))) is None
    assert f.filter(rec(instruction="Explain.")) == ("instruction_too_few_words", 1)
    chars = LengthFilter(LengthConfig(input=FieldBounds(max_chars=20)))
    assert chars.filter(rec(input="x" * 21)) == ("input_too_many_chars", 21)
    assert chars.filter(rec(input="x" * 20)) is None


def test_length_defaults_keep_one_word_answers() -> None:
    assert LengthFilter().filter(rec(instruction="Classify the sentiment.", input="I loved it.",
                                     output="Positive")) is None


@pytest.mark.parametrize(("text", "reason", "value"), [
    ("Caf\u00c3\u00a9 au lait", "mojibake", "\u00c3\u00a9"),
    ("It\u00e2\u20ac\u2122s fine", "mojibake", "\u00e2\u20ac\u2122"),
    ("Broken \ufffd\ufffd text", "replacement_character", 2),
    ("Bell \x07 here", "control_character", "U+0007"),
])
def test_encoding_drops(text: str, reason: str, value: object) -> None:
    assert EncodingFilter().filter(rec(output=text)) == (reason, value)


def test_encoding_keeps_real_accents_tabs_and_newlines() -> None:
    assert EncodingFilter().filter(rec(output="Caf\u00e9 au lait \u2014 S\u00c3O PAULO\n\tna\u00efve \u2019quoted\u2019")) is None


def test_refusal_opening_and_anywhere() -> None:
    f = RefusalFilter()
    assert f.filter(rec(output="I'm sorry, but I can't help with that request.")) == (
        "refusal_phrase", "i'm sorry, but i can")
    assert f.filter(rec(output="**I\u2019m unable to** browse the web.")) == ("refusal_phrase", "i'm unable to")
    assert f.filter(rec(output="Sure. As an AI language model, I think dogs are great.")) == (
        "refusal_phrase", "as an ai language model")
    # The same words inside a requested text (an apology email) are not a refusal.
    assert f.filter(rec(output="Subject: Late\n\nHi Sam,\n\nI'm sorry, but I can't make it on time today.")) is None
    assert f.filter(rec(output="I am sorry, but the meeting is moved.")) is None


def test_refusal_list_is_configurable() -> None:
    f = RefusalFilter(RefusalConfig(phrases=["let me know if"], opening_phrases=[]))
    assert f.filter(rec(output=PROSE + " Let me know if you need more.")) == ("refusal_phrase", "let me know if")
    assert f.filter(rec(output="I'm unable to help.")) is None


def test_repetition_duplicate_lines() -> None:
    looped = "\n".join(["The answer is that we should try again later."] * 3 + ["Another distinct line here."])
    assert duplicate_line_fraction(looped) == (0.5, 4)
    assert RepetitionFilter().filter(rec(output=looped)) == ("duplicate_line_fraction", 0.5)
    code = "def f(x):\n    if x:\n        return 1\n    }\n    }\n    }\ndef g(y):\n    return y"
    assert RepetitionFilter().filter(rec(output=code)) is None  # short lines do not count


def test_repetition_top_ngram_share() -> None:
    loop = " ".join(["I think that"] * 40) + " " + PROSE
    share, gram = top_ngram_share(loop.lower().replace(".", "").replace(",", "").split(), 2)
    assert gram == "i think" and round(share, 4) == 0.3535
    assert RepetitionFilter().filter(rec(output=loop)) == ("top_2gram_share", 0.3535)
    shorter = " ".join(["I think that"] * 20) + " " + PROSE
    assert RepetitionFilter().filter(rec(output=shorter)) == ("top_3gram_share", 0.4175)
    # A paragraph said twice: no single n-gram dominates, but every 10-gram is duplicated.
    assert RepetitionFilter().filter(rec(output=PROSE + " " + PROSE)) == ("duplicate_10gram_fraction", 1.0)
    # A short answer that repeats a phrase twice is below the 50-word floor, so it is not judged.
    short = "The capital of France is Paris. The capital of Germany is Berlin."
    assert RepetitionFilter().filter(rec(output=short)) is None
    assert RepetitionFilter().filter(rec(output=PROSE * 1)) is None


def test_copy_of_input_or_instruction() -> None:
    f = CopyFilter()
    assert f.filter(rec(input="He go to school.", output="he go to school")) == ("output_copies_input", 4)
    assert f.filter(rec(instruction="Name a color.", output="Name a color")) == ("output_copies_instruction", 3)
    assert f.filter(rec(input="He go to school.", output="He goes to school.")) is None


def test_truncation_finish_reason_and_sentence_end() -> None:
    f = TruncationFilter()
    assert f.filter(rec(finish_reason="length")) == ("finish_reason_length", "length")
    assert f.filter(rec(finish_reason="stop")) is None
    cut = PROSE.rsplit(" ", 6)[0]
    assert f.filter(rec(output=cut)) == ("no_sentence_end", "leaves through small")
    assert f.filter(rec(output=PROSE)) is None
    listed = PROSE + "\n8. Keeping Balcony Plants Alive While You Are on Vacation"
    assert f.filter(rec(output=listed)) is None  # a list item ends without a full stop
    off = TruncationFilter(TruncationConfig(check_sentence_end=False))
    assert off.filter(rec(output=cut)) is None


def test_blacklist_words_and_tokens() -> None:
    f = BlacklistFilter(BlacklistConfig(words=["lorem ipsum", "TODO"]))
    assert f.filter(rec(output=PROSE + " todo: fill")) == ("blacklisted_word", "todo")
    assert f.filter(rec(output=PROSE + " todos are fine")) is None  # whole words only
    assert f.filter(rec(output=PROSE + "<|im_end|>")) == ("blacklisted_token", "<|im_end|>")
    assert BlacklistFilter().filter(rec()) is None


def test_multi_turn_records_are_read_as_instruction_and_output() -> None:
    r = Record(messages=[Message(role="user", content="Say hi."), Message(role="assistant", content="  ")])
    assert EmptyOutputFilter().filter(r) == ("empty_output", 2)
