"""Every text a person reads, by message key. The English source is the gettext msgid;
translations live in locales/<lang>/LC_MESSAGES/sahay.po. Rasa answers with keys only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final


def N_(message: str) -> str:
    """Mark a string for extraction (pybabel extract -k N_) without translating it here."""
    return message


MESSAGES: Final[Mapping[str, str]] = {
    "greet": N_(
        "Hello, I am Sahay. I answer questions about services for migrants: health care, "
        "food and hygiene relief, legal aid, documents, shelter and more. "
        "Write your question in a few words."
    ),
    "greet_returning": N_("Welcome back. How can I help you today?"),
    "goodbye": N_("Take care. Write to me any time you need help."),
    "menu": N_(
        "I can help you with:\n"
        "- health care and vaccination\n"
        "- food and hygiene relief\n"
        "- legal aid: unpaid salary, passport kept by employer\n"
        "- documents and registration\n"
        "- going home (repatriation) and finding family\n"
        "- shelter, jobs, school, cash help, stress and worries\n"
        "Write what you need in a few words."
    ),
    "out_of_scope": N_(
        "Sorry, I cannot help with that. I answer questions about services for migrants. "
        "Tap Menu to see what I can do."
    ),
    "fallback": N_(
        "Sorry, I did not understand. Please write your question in a few words, "
        "or tap Menu to see what I can do."
    ),
    "try_again": N_(
        "Sorry, I cannot answer right now. Your message is saved and I will reply "
        "shortly. Please try again in a few minutes."
    ),
    "numbered_hint": N_("Reply with a number to choose."),
    # Button titles
    "button.menu": N_("Menu"),
    "button.goodbye": N_("Bye"),
}
