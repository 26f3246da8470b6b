"""Gateway commands: button payloads the gateway answers itself, without NLU.

`sahay:lang:<code>` chooses a language; `sahay:places:<category>:<page>` lists more places;
`/start [payload]` is Telegram's first message (a deep link `t.me/<bot>?start=<payload>` adds
the payload: a language code, a service such as `vaccination`, or both: `dv-vaccination`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.messages import LANGUAGE_NAMES
from nlu.intents import SERVICES

_LANGUAGE = re.compile(r"sahay:lang:([a-z]{2})")
_PLACES = re.compile(r"sahay:places:([a-z_]{1,32}):([1-9][0-9]?)")
_START = re.compile(r"/start(?:@\w+)?(?:\s+([A-Za-z0-9_-]{1,64}))?", re.ASCII)


@dataclass(frozen=True)
class ChooseLanguage:
    language: str


@dataclass(frozen=True)
class MorePlaces:
    category: str
    page: int


@dataclass(frozen=True)
class Start:
    """The first message on Telegram; `language` and `intent` come from a deep link."""

    language: str | None = None
    intent: str | None = None

    @property
    def rasa_text(self) -> str:
        """What Rasa is told: the service asked for, or a greeting."""
        return f"/{self.intent or 'greet'}"


Command = ChooseLanguage | MorePlaces | Start


def language_payload(language: str) -> str:
    return f"sahay:lang:{language}"


def places_payload(category: str, page: int) -> str:
    return f"sahay:places:{category}:{page}"


def parse(text: str) -> Command | None:
    text = text.strip()
    if match := _LANGUAGE.fullmatch(text):
        return ChooseLanguage(match.group(1))
    if match := _PLACES.fullmatch(text):
        return MorePlaces(match.group(1), int(match.group(2)))
    if match := _START.fullmatch(text):
        return _start(match.group(1) or "")
    return None


def _start(payload: str) -> Start:
    language = intent = None
    for part in payload.lower().split("-"):
        if part in LANGUAGE_NAMES:
            language = part
        elif f"ask_{part}" in SERVICES:
            intent = f"ask_{part}"
    return Start(language, intent)
