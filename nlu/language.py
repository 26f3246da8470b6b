"""Which language a message is in: its script first, then a language-identification model.

Scripts used by one launch language decide alone (Thaana → dv, Bengali → bn, Tamil → ta,
Sinhala → si); a few English words in such a message do not change its script. Devanagari
(Hindi or Nepali) and Latin letters (English, Spanish, or a South-Asian language typed in Latin
letters, which langid does not know) go to character n-gram naive Bayes models trained on
Sahay's own training data — unless langid is all but certain the text is in a language Sahay does
not speak (German, French, Turkish...), or the text has only words that people write in many
languages ("hi", "ok", "visa", "salary"): then there is no guess and the picker decides.
Pure functions and data: no I/O after construction.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Protocol

from langid.langid import LanguageIdentifier, model

SCRIPT_LANGUAGE = {"THAANA": "dv", "BENGALI": "bn", "TAMIL": "ta", "SINHALA": "si"}
DEVANAGARI_LANGUAGES = ("hi", "ne")
LATIN_LANGUAGES = ("en", "es")  # langid knows these; it knows no romanized South-Asian text
# langid's probability above which Latin text is taken to be in another language. Measured on
# the held-out romanized data (benchmarks/data/nlu_heldout/*_latn.yml): 3 of 775 lines reach
# it; German, French, Turkish and Swahili sentences do.
FOREIGN_PROBABILITY = 0.9999
FOREIGN_MIN_WORDS = 3
# A word found in the Latin-letter training data of this many languages tells nothing.
NEUTRAL_MIN_LANGUAGES = 4
# Below this log-likelihood margin over the runner-up, Latin text has no guess ("hii": 2.1).
# On the held-out data it leaves English right more often (0.964 → 0.988) and costs the
# romanized sets 0.01 to 0.02.
LATIN_MIN_MARGIN = 2.5
MIN_NATIVE_LETTERS = 2


@lru_cache(maxsize=8192)
def _script_of_char(char: str) -> str | None:
    if not char.isalpha():
        return None
    return unicodedata.name(char, "").split(" ", 1)[0]


def script_of(text: str) -> str | None:
    """The script of `text` (a Unicode name prefix such as LATIN or THAANA), or None if it
    has no letters. People mix English words into their own script ("visa එක"), not the
    other way round, so a script other than Latin wins once it has two letters."""
    counts: Counter[str] = Counter(
        script for script in map(_script_of_char, text) if script is not None
    )
    native = Counter({script: n for script, n in counts.items() if script != "LATIN"})
    if sum(native.values()) >= MIN_NATIVE_LETTERS:
        return native.most_common(1)[0][0]
    return counts.most_common(1)[0][0] if counts else None


def words(text: str) -> list[str]:
    return re.findall(r"\w+", unicodedata.normalize("NFC", text).casefold())


def ngrams(text: str, sizes: Iterable[int] = (1, 2, 3, 4)) -> list[str]:
    padded = f" {' '.join(unicodedata.normalize('NFC', text).casefold().split())} "
    return [padded[i : i + n] for n in sizes for i in range(len(padded) - n + 1)]


@dataclass
class NaiveBayes:
    """Character n-gram naive Bayes with add-one smoothing."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    @classmethod
    def train(cls, examples: Mapping[str, Iterable[str]]) -> NaiveBayes:
        return cls(
            {
                label: Counter(g for t in texts for g in ngrams(t))
                for label, texts in examples.items()
            }
        )

    @cached_property
    def _totals(self) -> dict[str, int]:
        return {label: sum(c.values()) for label, c in self.counts.items()}

    @cached_property
    def _vocabulary(self) -> int:
        return len({g for c in self.counts.values() for g in c})

    def scores(self, text: str) -> dict[str, float]:
        grams = ngrams(text)
        result = {}
        for label, counts in self.counts.items():
            denominator = self._totals[label] + self._vocabulary
            result[label] = sum(math.log((counts[g] + 1) / denominator) for g in grams)
        return result

    def classify(self, text: str, min_margin: float = 0.0) -> str | None:
        """The best label, or None when it beats the runner-up by less than `min_margin`
        (log-likelihood)."""
        ranked = sorted(self.scores(text).items(), key=lambda item: item[1], reverse=True)
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < min_margin:
            return None
        return ranked[0][0]


class Guesser(Protocol):
    def guess(self, text: str) -> str | None: ...


class LazyGuesser:
    """A LanguageGuesser made on first use. Making one takes seconds (langid's model and the
    training data's profiles): a worker restarted after a crash sends again at once instead
    of making a guesser it may not need; the web app makes it in a thread as it starts."""

    def __init__(self, examples: Callable[[], Mapping[str, Iterable[str]]]) -> None:
        self._examples = examples
        self._made: LanguageGuesser | None = None
        self._lock = threading.Lock()

    def ready(self) -> LanguageGuesser:
        with self._lock:
            if self._made is None:
                self._made = LanguageGuesser(self._examples())
            return self._made

    async def prepared(self) -> LanguageGuesser:
        """ready(), in a thread: the event loop keeps serving while it is made."""
        if self._made is not None:
            return self._made
        return await asyncio.to_thread(self.ready)

    def guess(self, text: str) -> str | None:
        return self.ready().guess(text)


class LanguageGuesser:
    def __init__(self, examples: Mapping[str, Iterable[str]]) -> None:
        """`examples`: language code → training texts in that language, in any script."""
        texts: dict[str, list[str]] = {}
        devanagari: dict[str, list[str]] = {}
        for language, found in examples.items():
            for text in found:
                script = script_of(text)
                if script == "LATIN":
                    texts.setdefault(language, []).append(text)
                elif script == "DEVANAGARI" and language in DEVANAGARI_LANGUAGES:
                    devanagari.setdefault(language, []).append(text)
        self._latin = NaiveBayes.train(texts)
        self._devanagari = NaiveBayes.train(devanagari)
        seen_in: dict[str, set[str]] = {}
        for language, latin in texts.items():
            for text in latin:
                for word in words(text):
                    seen_in.setdefault(word, set()).add(language)
        self._neutral = {w for w, found in seen_in.items() if len(found) >= NEUTRAL_MIN_LANGUAGES}
        self._langid = LanguageIdentifier.from_modelstring(model, norm_probs=True)

    def guess(self, text: str) -> str | None:
        """The most likely launch language of `text`, or None when the text cannot tell (see
        the module docstring): the default language and the picker decide then."""
        script = script_of(text)
        if script is None:
            return None
        if script in SCRIPT_LANGUAGE:
            return SCRIPT_LANGUAGE[script]
        if script == "DEVANAGARI":
            return self._devanagari.classify(text)
        if script == "LATIN":
            if all(word in self._neutral for word in words(text)):
                return None
            language, probability = self._langid.classify(text)
            if (
                language not in LATIN_LANGUAGES
                and probability >= FOREIGN_PROBABILITY
                and len(text.split()) >= FOREIGN_MIN_WORDS
            ):
                return None
            return self._latin.classify(text, LATIN_MIN_MARGIN)
        return None
