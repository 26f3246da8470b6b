"""A linear intent model for short, misspelled, code-mixed messages in many scripts.

TF-IDF over word uni- and bigrams, over character n-grams inside word boundaries (the
characters carry misspellings, romanized spellings and agglutinated suffixes), and over
character n-grams of a consonant skeleton (romanized spellings differ mostly in vowels and
doubled letters: "nahi", "nhi", "naahi"); a linear SVM with balanced class weights, and a
softmax over its decision values. Text unlike the training data — a script or language Sahay
was not trained on — gets a low confidence and reaches the fallback: when few of its
character n-grams were ever seen in training, its probabilities are pulled towards uniform.
Plain scikit-learn: no Rasa.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


_DIGRAPHS = (
    ("ph", "f"),
    ("kh", "k"),
    ("sh", "s"),
    ("ch", "c"),
    ("th", "t"),
    ("dh", "d"),
    ("bh", "b"),
    ("w", "v"),
    ("z", "j"),
)
_VOWELS = re.compile(r"[aeiouy]+")
_DOUBLED = re.compile(r"(.)\1+")


def skeleton(text: str) -> str:
    """Latin letters without vowels, digraphs and doubled letters: one spelling for many."""
    text = normalise(text)
    for digraph, letter in _DIGRAPHS:
        text = text.replace(digraph, letter)
    text = _DOUBLED.sub(r"\1", text)
    return " ".join(_VOWELS.sub("", word) or word for word in text.split())


@dataclass
class LinearIntentModel:
    c: float = 0.5  # SVM regularisation (larger: fits the training data more closely)
    scale: float = 5.0  # softmax temperature over decision values
    max_char_ngram: int = 5
    min_coverage: float = 0.5  # below this share of known character n-grams, doubt grows
    _words: TfidfVectorizer = field(init=False, repr=False)
    _chars: TfidfVectorizer = field(init=False, repr=False)
    _skeleton: TfidfVectorizer = field(init=False, repr=False)
    _svm: LinearSVC = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._words = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            preprocessor=normalise,
            token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - a regex, not a password
        )
        self._chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(1, self.max_char_ngram),
            sublinear_tf=True,
            preprocessor=normalise,
        )
        self._skeleton = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, preprocessor=skeleton
        )
        self._svm = LinearSVC(C=self.c, class_weight="balanced")

    def _vectorizers(self) -> tuple[TfidfVectorizer, ...]:
        return (self._words, self._chars, self._skeleton)

    def _features(self, texts: Sequence[str]) -> csr_matrix:
        return hstack([v.transform(texts) for v in self._vectorizers()]).tocsr()

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> LinearIntentModel:
        for vectorizer in self._vectorizers():
            vectorizer.fit(texts)
        self._svm.fit(self._features(texts), list(labels))
        return self

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self._svm.classes_]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text: a probability per label (in `labels` order)."""
        decision = self._svm.decision_function(self._features(texts))
        if decision.ndim == 1:  # two labels: scikit-learn gives one column
            decision = np.column_stack([-decision, decision])
        exp = np.exp(self.scale * (decision - decision.max(axis=1, keepdims=True)))
        probabilities = exp / exp.sum(axis=1, keepdims=True)
        trust = np.minimum(1.0, self.coverage(texts) / self.min_coverage)[:, None]
        return trust * probabilities + (1.0 - trust) / probabilities.shape[1]

    def coverage(self, texts: Sequence[str]) -> np.ndarray:
        """Per text: the share of its character n-grams (not counting the padding spaces)
        that occur in the training data; 0 for text without any."""
        analyse = self._chars.build_analyzer()
        known = self._chars.vocabulary_
        shares = []
        for text in texts:
            grams = [g for g in analyse(text) if g.strip()]
            shares.append(sum(g in known for g in grams) / len(grams) if grams else 0.0)
        return np.array(shares)
