"""Answers with places from the service directory, the language picker, gateway commands."""

from __future__ import annotations

import pytest

from bot import commands
from bot.answers import PLACES_PER_PAGE, language_buttons, with_directory, with_language_picker
from bot.i18n import Renderer, load_catalogues
from bot.messages import LANGUAGE_NAMES, MESSAGES
from storage.models import ServicePoint

RENDERER = Renderer(load_catalogues())


def point(key: str, location: str, category: str = "food_relief", **kw: str) -> ServicePoint:
    values = {"address": "Street 1", "phone": "300-0000", "hours": "9-12", **kw}
    return ServicePoint(
        deployment="t",
        key=key,
        category=category,
        name=key.title(),
        location=location,
        sample=False,
        **values,
    )


HELPLINE = point("helpline", "national", "helpline", address="", phone="1400", hours="8-22")


def answer(places: list[ServicePoint], location: str | None, page: int = 1):  # type: ignore[no-untyped-def]
    message = RENDERER.render("answer.ask_food_relief", "en")
    return with_directory(
        RENDERER,
        message,
        category="food_relief",
        places=places,
        helplines=[HELPLINE],
        location=location,
        page=page,
    )


def test_places_near_the_person_come_first_with_the_helpline() -> None:
    composed = answer([point("near", "Male"), point("far", "Addu")], "Male")
    lines = composed.text.splitlines()
    assert lines[1] == "Near Male:"
    assert lines[2] == "- Near, Street 1. Open 9-12. Tel. 300-0000"
    assert lines[-1] == "Helpline: 1400 (8-22)"


def test_without_a_location_the_header_is_generic() -> None:
    composed = answer([point("a", "Addu")], None)
    assert "Where to go:" in composed.text


def test_more_places_become_a_button_and_page_two_shows_them() -> None:
    places = [point(f"p{i}", "Male") for i in range(PLACES_PER_PAGE + 1)]
    first = answer(places, "Male")
    assert first.text.count("Tel. 300-0000") == PLACES_PER_PAGE
    more = first.buttons[0]
    assert more.title == "More places"
    command = commands.parse(more.payload)
    assert command == commands.MorePlaces("food_relief", 2)
    second = answer(places, "Male", page=2)
    assert "P2," in second.text
    assert not second.buttons


def test_sample_data_is_labelled() -> None:
    sample = point("s", "Male")
    sample.sample = True
    assert "(Sample data: not a real service.)" in answer([sample], "Male").text


@pytest.mark.parametrize("language", sorted(LANGUAGE_NAMES))
def test_answers_fit_a_phone_screen_in_every_language(language: str) -> None:
    places = [point(f"p{i}", "Male") for i in range(5)]
    for key in [k for k in MESSAGES if k.startswith("answer.")] + ["menu", "greet"]:
        message = RENDERER.render(key, language)
        composed = with_directory(
            RENDERER, message, category="x", places=places, helplines=[HELPLINE], location="Male"
        )
        assert len(composed.text) <= 700, f"{language}/{key}"


def test_picker_offers_every_language_in_its_own_script_chosen_first() -> None:
    buttons = language_buttons("ne")
    assert buttons[0].title == "नेपाली"
    assert {b.title for b in buttons} == set(LANGUAGE_NAMES.values())
    assert all(
        commands.parse(b.payload) == commands.ChooseLanguage(code)
        for b, code in zip(buttons, ["ne", *[c for c in LANGUAGE_NAMES if c != "ne"]], strict=True)
    )
    picked = with_language_picker(RENDERER.render("language_picker", "ne"))
    assert picked.buttons == buttons


def test_only_exact_command_payloads_are_commands() -> None:
    assert commands.parse("sahay:lang:bn") == commands.ChooseLanguage("bn")
    assert commands.parse(" sahay:lang:bn ") == commands.ChooseLanguage("bn")
    assert commands.parse("please sahay:lang:bn") is None
    assert commands.parse("sahay:places:food_relief:0") is None
    assert commands.parse("hello") is None
