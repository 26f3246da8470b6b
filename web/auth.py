"""Staff sign-in: server-side sessions, roles checked on every route, CSRF on every form.

The cookie holds a random token; the database holds only its SHA-256 with the session's CSRF
token. A session ends after 30 idle minutes or 12 hours, whichever comes first (settings).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import N_
from bot.settings import Settings
from storage.casework import audit
from storage.db import Database
from storage.models import StaffRole, StaffSession, StaffUser, as_utc, utcnow
from storage.staff import hash_password, password_matches
from web.templating import render
from web.throttle import Throttle

COOKIE = "sahay_session"
LOGIN_COOKIE = "sahay_login"  # the sign-in form's CSRF token, before there is a session
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@functools.cache
def unknown_user_hash() -> str:
    """Compared against when the email is unknown, so that a wrong email takes as long as a
    wrong password (no telling which accounts exist). Made when the web app starts (an
    Argon2 hash takes a fifth of a second: not at import, where the worker paid it too)."""
    return hash_password(secrets.token_urlsafe(16))


ALL_STAFF = (StaffRole.ADMIN, StaffRole.STAFF, StaffRole.CASEWORKER)
CASEWORK = (StaffRole.ADMIN, StaffRole.CASEWORKER)
ADMIN = (StaffRole.ADMIN,)


class NotSignedIn(Exception):
    """No valid session: HTML pages send the browser to /login."""


class Forbidden(Exception):
    """Signed in, but this role may not do this."""


class CsrfRefused(Exception):
    """A form posted without this session's CSRF token."""


@dataclass(frozen=True)
class Staff:
    user: StaffUser
    csrf_token: str

    @property
    def role(self) -> StaffRole:
        return self.user.role


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _session_of(
    session: AsyncSession, token: str, settings: Settings
) -> tuple[StaffSession, StaffUser] | None:
    found = await session.get(StaffSession, _digest(token))
    if found is None:
        return None
    now = utcnow()
    idle = now - as_utc(found.last_seen_at) > timedelta(minutes=settings.session_idle_minutes)
    old = now - as_utc(found.created_at) > timedelta(hours=settings.session_absolute_hours)
    user = await session.get(StaffUser, found.user_id)
    if idle or old or user is None or not user.active:
        await session.delete(found)
        return None
    if now - as_utc(found.last_seen_at) > TOUCH_EVERY:
        found.last_seen_at = now
    return found, user


async def current_staff(request: Request) -> Staff:
    token = request.cookies.get(COOKIE)
    if not token:
        raise NotSignedIn
    database: Database = request.app.state.database
    async with database.session() as session:
        found = await _session_of(session, token, request.app.state.settings)
    if found is None:
        raise NotSignedIn
    staff_session, user = found
    staff = Staff(user=user, csrf_token=staff_session.csrf_token)
    request.state.staff = staff
    return staff


async def _csrf_checked(request: Request, staff: Staff) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()  # Starlette keeps it for the route's own Form fields
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, staff.csrf_token):
        raise CsrfRefused


def require(*roles: StaffRole) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency: a signed-in member of one of `roles`, and on a POST a valid CSRF token."""

    async def dependency(request: Request) -> Staff:
        staff = await current_staff(request)
        if staff.role not in roles:
            raise Forbidden
        await _csrf_checked(request, staff)
        return staff

    return dependency


AnyStaff = Annotated[Staff, Depends(require(*ALL_STAFF))]
Caseworker = Annotated[Staff, Depends(require(*CASEWORK))]
router = APIRouter(include_in_schema=False)


def _login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request, "staff/login.html", {"login_token": token, "error": error}, status_code=status
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token, expected):
        return _login_page(request, N_("The sign-in form expired. Please try again."), 403)
    settings: Settings = request.app.state.settings
    database: Database = request.app.state.database
    throttle = Throttle.from_settings(settings)
    address = request.client.host if request.client else "-"
    email = email.strip().lower()
    async with database.session() as session:
        user = await session.scalar(select(StaffUser).where(StaffUser.email == email))
        if await throttle.refused(session, email, address):  # the password is not even checked
            await audit(session, user, "login_throttled", "staff", user.id if user else "-")
            response = _login_page(
                request,
                N_(
                    "Too many failed sign-ins. Please wait a few minutes before trying"
                    " again, or ask an admin to reset your password."
                ),
                429,
            )
            response.headers["Retry-After"] = str(int(throttle.window.total_seconds()))
            return response
        valid = password_matches(user.password_hash if user else unknown_user_hash(), password)
        if user is None or not user.active or not valid:
            await throttle.failed(session, email, address)
            await audit(session, user, "login_failed", "staff", user.id if user else "-")
            return _login_page(request, N_("The email or the password is wrong."), 401)
        await throttle.succeeded(session, email)
        token = secrets.token_urlsafe(32)
        session.add(
            StaffSession(id=_digest(token), user_id=user.id, csrf_token=secrets.token_hex(32))
        )
        await audit(session, user, "login", "staff", user.id)
    response = RedirectResponse("/requests" if user.role in CASEWORK else "/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, staff: AnyStaff) -> Response:
    token = request.cookies.get(COOKIE, "")
    database: Database = request.app.state.database
    async with database.session() as session:
        await session.execute(delete(StaffSession).where(StaffSession.id == _digest(token)))
        await audit(session, staff.user, "logout", "staff", staff.user.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, staff: AnyStaff) -> Response:
    if staff.role in CASEWORK:
        return RedirectResponse("/requests", status_code=303)
    return render(request, "staff/home.html", {})
