"""The staff pages' templates: Jinja2 with gettext (English source; catalogues can follow) and
every page given the signed-in person and their CSRF token."""

from __future__ import annotations

import gettext
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from storage.models import as_utc

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
)
_ENV.install_gettext_translations(gettext.NullTranslations(), newstyle=True)  # type: ignore[attr-defined]
TEMPLATES = Jinja2Templates(env=_ENV)


def _moment(value: datetime | None) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _age(value: datetime, now: datetime) -> str:
    """How long ago, in the largest whole unit: "3 d", "5 h", "12 min"."""
    seconds = int((now - as_utc(value)).total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{max(seconds // 60, 0)} min"


TEMPLATES.env.filters["moment"] = _moment
TEMPLATES.env.globals["age"] = _age


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    staff = getattr(request.state, "staff", None)
    values = {"staff": staff, "csrf_token": staff.csrf_token if staff else "", **context}
    return TEMPLATES.TemplateResponse(request, name, values, status_code=status_code)
