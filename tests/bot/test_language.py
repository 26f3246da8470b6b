"""Language pre-selection from the first message: script, then language identification."""

from __future__ import annotations

import pytest

from nlu.language import LanguageGuesser, NaiveBayes, script_of
from nlu.training_data import examples_by_language


@pytest.fixture(scope="module")
def guesser() -> LanguageGuesser:
    return LanguageGuesser(examples_by_language())


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ސެލަރީ ނުލިބޭ", "dv"),
        ("আমার বেতন পাইনি", "bn"),
        ("சம்பளம் வரல", "ta"),
        ("පඩිය ලැබුනේ නෑ", "si"),
        ("मुझे घर जाना है", "hi"),
        ("मलाई घर जान मन छ", "ne"),
        ("visa expired මොකද කරන්නේ", "si"),  # English words in a Sinhala message
        ("company salary দেয় নাই", "bn"),
    ],
)
def test_script_and_langid_decide_non_latin_text(
    guesser: LanguageGuesser, text: str, language: str
) -> None:
    assert guesser.guess(text) == language


def test_no_letters_means_no_guess(guesser: LanguageGuesser) -> None:
    assert guesser.guess("🙏🙏 123") is None
    assert script_of("👍") is None


def test_latin_text_is_classified_from_the_training_data() -> None:
    model = NaiveBayes.train(
        {
            "en": ["i need food", "where is the clinic", "my salary not paid"],
            "es": ["necesito comida", "donde esta la clinica", "no me pagan el sueldo"],
            "bn": ["ami khabar chai", "daktar kothay", "beton pai nai"],
        }
    )
    assert model.classify("need food please") == "en"
    assert model.classify("necesito ayuda con comida") == "es"
    assert model.classify("amar khabar nai") == "bn"


@pytest.mark.parametrize(
    "text",
    [
        "ich brauche hilfe mit meinem visum",
        "bonjour je cherche un médecin",
        "merhaba yardıma ihtiyacım var",
    ],
)
def test_a_language_sahay_does_not_speak_gets_no_guess(
    guesser: LanguageGuesser, text: str
) -> None:
    assert guesser.guess(text) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [("ami khabar pacchi na", "bn"), ("mujhe khana chahiye", "hi"), ("necesito comida", "es")],
)
def test_romanized_and_spanish_text_keeps_its_guess(
    guesser: LanguageGuesser, text: str, language: str
) -> None:
    assert guesser.guess(text) == language


@pytest.mark.parametrize("text", ["hi", "hello sir", "ok thanks", "Hi!"])
def test_words_written_in_every_language_give_no_guess(
    guesser: LanguageGuesser, text: str
) -> None:
    assert guesser.guess(text) is None
