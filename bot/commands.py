"""Gateway commands: button payloads the gateway answers itself, without NLU.

`sahay:lang:<code>` chooses a language; `sahay:places:<category>:<page>` lists more places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LANGUAGE = re.compile(r"sahay:lang:([a-z]{2})")
_PLACES = re.compile(r"sahay:places:([a-z_]{1,32}):([1-9][0-9]?)")


@dataclass(frozen=True)
class ChooseLanguage:
    language: str


@dataclass(frozen=True)
class MorePlaces:
    category: str
    page: int


Command = ChooseLanguage | MorePlaces


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
    return None
