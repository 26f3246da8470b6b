"""Every text a person reads comes from locales/, under a key that exists."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

from bot.channels.base import Button, OutboundMessage, as_numbered_text, pick_numbered_option
from bot.i18n import LOCALES_DIR, Renderer, UnknownMessageKey, catalogue_status, load_catalogues
from bot.messages import LANGUAGE_NAMES, MESSAGES
from bot.settings import PROJECT_ROOT

DOMAIN = PROJECT_ROOT / "dialogues" / "domain.yml"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _domain_keys() -> set[str]:
    domain = yaml.safe_load(DOMAIN.read_text())
    keys = set()
    for variants in domain["responses"].values():
        for variant in variants:
            custom = variant["custom"]
            keys.add(custom["key"])
            keys.update(b["key"] for b in custom.get("buttons", []))
    return keys


def test_every_domain_response_is_a_known_message_key() -> None:
    assert _domain_keys() <= set(MESSAGES)


def test_every_message_is_in_the_template_and_every_catalogue() -> None:
    with (LOCALES_DIR / "sahay.pot").open("rb") as fp:
        template = {m.id for m in read_po(fp) if m.id}
    assert set(MESSAGES.values()) <= template, "run `make locales-extract`"
    for po in LOCALES_DIR.glob("*/LC_MESSAGES/sahay.po"):
        with po.open("rb") as fp:
            catalogue = {m.id for m in read_po(fp) if m.id}
        assert set(MESSAGES.values()) <= catalogue, f"{po} is missing messages"


def test_every_launch_language_has_a_compiled_catalogue() -> None:
    assert set(load_catalogues()) == set(LANGUAGE_NAMES)


def _catalogues() -> list[Path]:
    return sorted(LOCALES_DIR.glob("*/LC_MESSAGES/sahay.po"))


@pytest.mark.parametrize("po", _catalogues(), ids=lambda p: p.parent.parent.name)
def test_no_message_is_missing_and_placeholders_match(po: Path) -> None:
    with po.open("rb") as fp:
        catalogue = {m.id: m for m in read_po(fp) if m.id}
    language = po.parent.parent.name
    for msgid in MESSAGES.values():
        message = catalogue.get(msgid)
        assert message is not None, f"{language}: missing {msgid[:40]!r}"
        if language == "en":
            continue
        assert message.string, f"{language}: not translated: {msgid[:40]!r}"
        assert sorted(PLACEHOLDER.findall(message.string)) == sorted(PLACEHOLDER.findall(msgid)), (
            f"{language}: placeholders differ in {msgid[:40]!r}"
        )


def test_status_counts_translated_fuzzy_and_missing() -> None:
    rows = {row.language: row for row in catalogue_status()}
    assert set(rows) == set(LANGUAGE_NAMES)
    for row in rows.values():
        assert row.translated + row.fuzzy + row.missing == len(MESSAGES)
        assert row.missing == 0


def test_every_language_renders_every_message() -> None:
    renderer = Renderer(load_catalogues())
    # Every placeholder any message uses, so that a translation's own placeholders are
    # checked by rendering too; some variables are message keys, rendered in the language.
    names = {name for msgid in MESSAGES.values() for name in re.findall(r"%\((\w+)\)s", msgid)}
    values: dict[str, object] = {name: name.upper() for name in names}
    values |= {"category": {"key": "category.food_relief"}, "status": {"key": "status.new"}}
    for language in LANGUAGE_NAMES:
        for key, msgid in MESSAGES.items():
            text = renderer.text(key, language, values if "%(" in msgid else None)
            assert text.strip(), f"{language}/{key} is empty"
    assert renderer.text("status.found", "en", values) == (
        "Your request REFERENCE (Food and hygiene): received, waiting for a caseworker."
    )


def test_renderer_uses_the_contacts_language_and_falls_back_to_default(tmp_path: Path) -> None:
    class Upper(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return message.upper()

    renderer = Renderer({"en": gettext.NullTranslations(), "xx": Upper()})
    assert renderer.text("goodbye", "xx") == MESSAGES["goodbye"].upper()
    assert renderer.text("goodbye", "zz") == MESSAGES["goodbye"]
    rendered = renderer.render("greet", "xx", buttons=[{"key": "button.menu", "payload": "/m"}])
    assert rendered.buttons[0].title == "MENU"
    assert rendered.buttons[0].payload == "/m"


def test_unknown_key_is_an_error_not_a_blank_message() -> None:
    with pytest.raises(UnknownMessageKey):
        Renderer(load_catalogues()).text("no_such_key", "en")


BUTTONS = (Button("Health", "/ask_health"), Button("Food", "/ask_food"))


def test_buttons_become_numbered_options_on_a_text_only_channel() -> None:
    message = OutboundMessage(text="Pick one", key="menu", language="en", buttons=BUTTONS)
    assert as_numbered_text(message, "Reply with a number.") == (
        "Pick one\n\n1. Health\n2. Food\nReply with a number."
    )
    plain = OutboundMessage(text="Hi", key="greet", language="en")
    assert as_numbered_text(plain, "ignored") == "Hi"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1", "/ask_health"),
        (" 2. ", "/ask_food"),
        ("2)", "/ask_food"),
        ("3", "3"),
        ("0", "0"),
        ("12 kg rice", "12 kg rice"),
        ("hello", "hello"),
    ],
)
def test_a_typed_number_picks_the_offered_option(typed: str, expected: str) -> None:
    assert pick_numbered_option(typed, BUTTONS) == expected


def test_a_number_with_nothing_offered_is_just_text() -> None:
    assert pick_numbered_option("1", ()) == "1"
