"""The web chat page at /chat: its own words in the person's language, right to left where
the language is written so. The page's JavaScript switches language when a reply does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from babel import Locale
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.i18n import RTL_LANGUAGES, Renderer

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
UI_KEYS = (
    "web.tagline",
    "web.your_message",
    "web.placeholder",
    "web.send",
    "web.retrying",
    "web.not_sent",
)

router = APIRouter()


def preferred_languages(accept_language: str) -> list[str]:
    """Language tags of an Accept-Language header, most wanted first (q=0 dropped)."""
    weighted = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    return [tag for _q, _p, tag in sorted(weighted)]


def page_language(
    requested: str | None, accept_language: str, available: set[str], default: str
) -> str:
    if requested in available:
        return requested
    found = Locale.negotiate(preferred_languages(accept_language), sorted(available), sep="-")
    return found.language if found and found.language in available else default


def ui_strings(renderer: Renderer) -> Mapping[str, Mapping[str, str]]:
    """Every language's words for the page, so that it can switch without a round trip."""
    return {
        language: {key.removeprefix("web."): renderer.text(key, language) for key in UI_KEYS}
        for language in sorted(renderer.languages())
    }


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
async def chat_page(request: Request, lang: str | None = None) -> HTMLResponse:
    renderer: Renderer = request.app.state.pipeline.renderer
    strings = ui_strings(renderer)
    language = page_language(
        lang, request.headers.get("accept-language", ""), set(strings), renderer.default_language
    )
    return TEMPLATES.TemplateResponse(
        request,
        "chat.html",
        {
            "language": language,
            "direction": "rtl" if language in RTL_LANGUAGES else "ltr",
            "ui": strings[language],
            # "<" escaped: the JSON sits inside a <script> element.
            "all_ui": json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c"),
            "rtl_languages": sorted(RTL_LANGUAGES),
        },
    )
