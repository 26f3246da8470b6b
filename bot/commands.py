"""Gateway commands: button payloads the gateway answers itself, without NLU.

`sahay:lang:<code>` chooses a language; `sahay:places:<category>:<page>` lists more places;
`sahay:erase:yes` confirms "delete my data" (Rasa asks, the gateway erases);
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
class ConfirmErase:
    """The person pressed "Yes, delete" under "delete everything Sahay keeps about you?"."""


ERASE_PAYLOAD = "sahay:erase:yes"


@dataclass(frozen=True)
class Start:
    """The first message on Telegram; `language` and `intent` come from a deep link."""

    language: str | None = None
    intent: str | None = None

    @property
    def rasa_text(self) -> str:
        """What Rasa is told: the service asked for, or a greeting."""
        return f"/{self.intent or 'greet'}"


@dataclass(frozen=True)
class Cancel:
    """ "cancel" typed in any launch language: stops a form (Rasa's cancel_request)."""

    rasa_text: str = "/cancel_request"


# Typed on its own, in any launch language or romanized. STOP is not here: it means
# "no more alerts".
CANCEL_WORDS = frozenset(
    {
        "cancel", "cancel it", "cancel please", "cancel karo", "cancel koro", "cancel kar",
        "cancelar", "cancela", "cancelado",
        "বাতিল", "বাতিল করো", "বাতিল করুন", "batil", "batil koro",
        "रद्द", "रद्द करो", "रद्द करें", "radd", "radd karo", "rad karo",
        "रद्द गर", "रद्द गर्नुहोस्", "radda", "radda gara",
        "ரத்து", "ரத்து செய்", "rathu", "rattu", "rathu sei",
        "අවලංගු", "අවලංගු කරන්න", "awalangu", "awalangu karanna",
        "ކެންސަލް", "ބާތިލް", "baathil",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Status:
    """The word the "request saved" message tells people to type: where my request stands."""

    rasa_text: str = "/check_request_status"


STATUS_WORDS = frozenset({"status", "my status", "request status", "estado", "mi estado"})


@dataclass(frozen=True)
class StopAlerts:
    """STOP (or its word in the person's language), at any point: no more broadcasts."""


@dataclass(frozen=True)
class StartAlerts:
    """START: broadcasts about every topic again."""


# The words people use for it on SMS and chat services, in every launch language (drafts to
# be checked by native speakers, as the catalogues are).
STOP_WORDS = frozenset(
    {
        "stop", "stop alerts", "unsubscribe", "stop all",
        "baja", "parar", "alto", "detener", "cancelar alertas",
        "বন্ধ", "বন্ধ করো", "bondho", "bondho koro", "bandho",
        "बंद", "बंद करो", "band", "band karo", "bund karo",
        "बन्द", "बन्द गर", "banda gara", "banda garnus",
        "நிறுத்து", "நிறுத்தவும்", "niruthu", "nirutthu",
        "නවත්තන්න", "නවතන්න", "nawaththanna", "navattanna",
        "ހުއްޓާ", "ހުއްޓުވާ", "huttaa", "huttuvaa",
    }
)  # fmt: skip
START_WORDS = frozenset(
    {
        "start", "start alerts", "subscribe",
        "alta", "iniciar", "suscribir", "suscribirme",
        "শুরু", "শুরু করো", "shuru", "shuru koro",
        "शुरू", "शुरू करो", "shuru karo",
        "सुरु", "सुरु गर", "suru", "suru gara",
        "தொடங்கு", "தொடங்கவும்", "thodangu", "todangu",
        "අරඹන්න", "පටන් ගන්න", "arambanna", "patan ganna",
        "ފައްޓާ", "fattaa",
    }
)  # fmt: skip

Command = (
    ChooseLanguage | MorePlaces | ConfirmErase | Start | Cancel | Status | StopAlerts | StartAlerts
)


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
    if text == ERASE_PAYLOAD:
        return ConfirmErase()
    if match := _START.fullmatch(text):
        return _start(match.group(1) or "")
    word = text.lower().strip(" .!?।")
    if word in CANCEL_WORDS:
        return Cancel()
    if word in STATUS_WORDS:
        return Status()
    if word in STOP_WORDS:
        return StopAlerts()
    if word in START_WORDS:
        return StartAlerts()
    return None


def _start(payload: str) -> Start:
    language = intent = None
    for part in payload.lower().split("-"):
        if part in LANGUAGE_NAMES:
            language = part
        elif f"ask_{part}" in SERVICES:
            intent = f"ask_{part}"
    return Start(language, intent)
