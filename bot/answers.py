"""Composing answers: a rendered message plus places and numbers from the service directory,
and the language picker. Pure functions: the pipeline fetches the data, these shape the text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.channels.base import Button, OutboundMessage
from bot.commands import language_payload, places_payload
from bot.i18n import Renderer
from bot.messages import LANGUAGE_NAMES
from storage.directory import NATIONAL
from storage.models import ServicePoint

PLACES_PER_PAGE = 2  # a phone screen: the answer, two places, the helpline


def language_buttons(first: str | None = None) -> tuple[Button, ...]:
    """One button per launch language, named in its own script; `first` leads."""
    order = sorted(LANGUAGE_NAMES, key=lambda code: code != first)
    return tuple(Button(LANGUAGE_NAMES[code], language_payload(code)) for code in order)


def with_language_picker(message: OutboundMessage) -> OutboundMessage:
    return replace(message, buttons=language_buttons(message.language))


def _line(renderer: Renderer, language: str, point: ServicePoint) -> str:
    values = {
        "name": point.name,
        "address": point.address,
        "hours": point.hours or "-",
        "phone": point.phone or "-",
    }
    if point.category == "emergency":
        return renderer.text("directory.emergency", language, values)
    key = "directory.place" if point.address else "directory.line"
    return renderer.text(key, language, values)


def with_directory(
    renderer: Renderer,
    message: OutboundMessage,
    *,
    category: str,
    places: Sequence[ServicePoint],
    helplines: Sequence[ServicePoint],
    location: str | None,
    page: int = 1,
) -> OutboundMessage:
    """Add up to PLACES_PER_PAGE places for `category` (near `location` first), the helpline,
    and a "More places" button when there are more."""
    language = message.language
    lines = [message.text] if message.text else []
    start = (page - 1) * PLACES_PER_PAGE
    shown = list(places[start : start + PLACES_PER_PAGE])
    if shown and category not in ("helpline", "emergency"):
        near = location and location in (shown[0].location, shown[0].area)
        header = (
            renderer.text("directory.where_near", language, {"location": location})
            if near
            else renderer.text("directory.where", language)
        )
        lines.append(header)
    lines += [
        ("- " if category not in ("emergency",) else "") + _line(renderer, language, p)
        for p in shown
    ]
    national_helpline = next((h for h in helplines if h.location == NATIONAL), None)
    if national_helpline and category != "helpline":
        lines.append(
            renderer.text(
                "directory.helpline",
                language,
                {"phone": national_helpline.phone, "hours": national_helpline.hours or "-"},
            )
        )
    if any(p.sample for p in [*shown, *helplines]):
        lines.append(renderer.text("directory.sample_note", language))
    buttons = message.buttons
    if len(places) > start + PLACES_PER_PAGE:
        more = Button(
            renderer.text("directory.more_places", language), places_payload(category, page + 1)
        )
        buttons = (more, *buttons)
    return replace(message, text="\n".join(lines), buttons=buttons)
