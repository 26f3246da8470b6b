"""gettext catalogues from locales/, and rendering of message keys in a contact's language."""

from __future__ import annotations

import gettext
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.channels.base import Button, OutboundMessage
from bot.messages import MESSAGES
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "sahay"
SOURCE_LANGUAGE = "en"
# Right-to-left scripts among the launch languages (Dhivehi is written in Thaana).
RTL_LANGUAGES = frozenset({"dv"})


class UnknownMessageKey(KeyError):
    """Rasa (or code) asked for a message key that bot/messages.py does not define."""


def load_catalogues(locales_dir: Path = LOCALES_DIR) -> dict[str, gettext.NullTranslations]:
    """Load every compiled catalogue (locales/<lang>/LC_MESSAGES/sahay.mo)."""
    catalogues: dict[str, gettext.NullTranslations] = {SOURCE_LANGUAGE: gettext.NullTranslations()}
    for mo_file in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")):
        language = mo_file.parent.parent.name
        with mo_file.open("rb") as fp:
            catalogues[language] = gettext.GNUTranslations(fp)
    return catalogues


@dataclass
class Renderer:
    """Turns a message key plus variables into text in one language. Pure: no I/O."""

    catalogues: Mapping[str, gettext.NullTranslations]
    default_language: str = SOURCE_LANGUAGE
    messages: Mapping[str, str] = field(default_factory=lambda: MESSAGES)

    def languages(self) -> frozenset[str]:
        return frozenset(self.catalogues)

    def text(self, key: str, language: str, variables: Mapping[str, Any] | None = None) -> str:
        try:
            msgid = self.messages[key]
        except KeyError:
            raise UnknownMessageKey(key) from None
        catalogue = self.catalogues.get(language) or self.catalogues[self.default_language]
        text = catalogue.gettext(msgid)
        if not variables:
            return text
        # A variable may itself be a message key ({"key": ...}): rendered in this language.
        values = {
            name: self.text(value["key"], language)
            if isinstance(value, Mapping) and "key" in value
            else value
            for name, value in variables.items()
        }
        return text % values

    def render(
        self,
        key: str,
        language: str,
        variables: Mapping[str, Any] | None = None,
        buttons: Sequence[Mapping[str, str]] | None = None,
    ) -> OutboundMessage:
        return OutboundMessage(
            text=self.text(key, language, variables),
            key=key,
            language=language,
            buttons=tuple(
                Button(title=self.text(b["key"], language), payload=str(b["payload"]))
                for b in buttons or []
            ),
        )


@dataclass(frozen=True)
class CatalogueStatus:
    language: str
    translated: int  # reviewed by a person (not fuzzy)
    fuzzy: int  # machine drafts awaiting review
    missing: int


def catalogue_status(locales_dir: Path = LOCALES_DIR) -> list[CatalogueStatus]:
    """Per language: how many messages are translated, fuzzy (drafts) or missing."""
    from babel.messages.pofile import read_po

    msgids = set(MESSAGES.values())
    result = []
    for po in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = po.parent.parent.name
        with po.open("rb") as fp:
            catalogue = {m.id: m for m in read_po(fp) if m.id}
        if language == SOURCE_LANGUAGE:  # the msgids are the English text
            result.append(CatalogueStatus(language, len(msgids), 0, 0))
            continue
        found = [catalogue.get(msgid) for msgid in msgids]
        done = [m for m in found if m is not None and m.string]
        fuzzy = sum(1 for m in done if m.fuzzy)
        result.append(CatalogueStatus(language, len(done) - fuzzy, fuzzy, len(msgids) - len(done)))
    return result
