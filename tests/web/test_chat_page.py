"""The chat page speaks the person's language: negotiated from the browser, or chosen."""

from __future__ import annotations

import httpx
import pytest

from bot.i18n import Renderer, load_catalogues
from web.chat_page import page_language, preferred_languages

RENDERER = Renderer(load_catalogues())
LAUNCH = {"en", "es", "bn", "hi", "ta", "si", "ne", "dv"}


def test_accept_language_is_ordered_by_quality_and_zero_is_refused() -> None:
    assert preferred_languages("fr;q=0.5, ne-NP, en;q=0.8, de;q=0") == ["ne-NP", "en", "fr"]
    assert preferred_languages("") == []
    assert preferred_languages("es;q=abc, bn") == ["bn"]


@pytest.mark.parametrize(
    ("requested", "header", "expected"),
    [
        (None, "es-EC,es;q=0.9,en;q=0.8", "es"),
        (None, "de-DE,de;q=0.9", "en"),  # a language Sahay does not speak: the default
        (None, "ta-LK, si;q=0.4", "ta"),
        ("dv", "es", "dv"),  # the person's choice wins
        ("xx", "bn", "bn"),
    ],
)
def test_page_language(requested: str | None, header: str, expected: str) -> None:
    assert page_language(requested, header, LAUNCH, "en") == expected


async def test_page_is_in_the_browsers_language(offline_client: httpx.AsyncClient) -> None:
    page = await offline_client.get("/chat", headers={"accept-language": "es-EC,es;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="es" dir="ltr">' in page.text
    assert f'placeholder="{RENDERER.text("web.placeholder", "es")}"' in page.text
    assert RENDERER.text("web.send", "es") in page.text


async def test_dhivehi_page_is_right_to_left(offline_client: httpx.AsyncClient) -> None:
    page = await offline_client.get("/chat", params={"lang": "dv"})
    assert '<html lang="dv" dir="rtl">' in page.text
    assert RENDERER.text("web.placeholder", "dv") in page.text
