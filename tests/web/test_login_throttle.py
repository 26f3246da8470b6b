"""Sign-in throttling per account and per client address (web/throttle.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from storage.models import AuditEvent, LoginFailure, utcnow
from tests.web.conftest import PASSWORD, StaffApp, csrf_of


def browser_at(staff_app: StaffApp, address: str) -> httpx.AsyncClient:
    """A browser on the same app whose requests come from `address`."""
    transport = staff_app.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=transport.app, client=(address, 40000)),
        base_url=str(staff_app.client.base_url),
    )


async def attempt(browser: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    token = csrf_of((await browser.get("/login")).text)
    return await browser.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )


async def test_five_wrong_passwords_hold_the_account_for_the_window_from_anywhere(
    staff_app: StaffApp,
) -> None:
    guesser = browser_at(staff_app, "203.0.113.7")
    for n in range(5):
        wrong = await attempt(guesser, "caseworker@sahay.test", f"guess-{n}")
        assert wrong.status_code == 401
    # The right password, even from another address, is refused until the window passes.
    owner = browser_at(staff_app, "198.51.100.20")
    held = await attempt(owner, "caseworker@sahay.test", PASSWORD)
    assert held.status_code == 429
    assert "Too many failed sign-ins" in held.text
    assert int(held.headers["Retry-After"]) == 15 * 60
    # Another account from the guesser's address is not held: 5 failures there, not 20.
    assert (await attempt(guesser, "staff@sahay.test", PASSWORD)).status_code == 303
    database = staff_app.database()
    async with database.session() as session:
        keys = (await session.scalars(select(LoginFailure.key))).all()
        assert len(keys) == 10  # 5 failures, each counted for the account and the address
        assert all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)  # no email, no IP
        throttled = await session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "login_throttled")
        )
        assert throttled.all() == ["login_throttled"]
        await session.execute(update(LoginFailure).values(at=utcnow() - timedelta(minutes=16)))
    await database.dispose()
    assert (await attempt(owner, "caseworker@sahay.test", PASSWORD)).status_code == 303
    # The sign-in cleared the account's failures: one more mistake does not hold it.
    assert (await attempt(owner, "caseworker@sahay.test", "typo")).status_code == 401
    assert (await attempt(owner, "caseworker@sahay.test", PASSWORD)).status_code == 303


async def test_twenty_failures_from_one_address_hold_every_account_there(
    staff_app: StaffApp,
) -> None:
    sprayer = browser_at(staff_app, "192.0.2.44")
    for n in range(20):  # one guess each at many emails: under every account's limit
        wrong = await attempt(sprayer, f"person{n}@sahay.test", "Winter2026!")
        assert wrong.status_code == 401
    assert (await attempt(sprayer, "admin@sahay.test", PASSWORD)).status_code == 429
    elsewhere = browser_at(staff_app, "198.51.100.21")
    assert (await attempt(elsewhere, "admin@sahay.test", PASSWORD)).status_code == 303
