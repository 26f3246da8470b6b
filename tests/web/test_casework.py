"""The caseworker web app over the real app (SQLite, real templates, real googletrans against a
local Google Translate): sign-in, roles on every route, CSRF, the queue, the workflow with the
person told in their language, replies from a machine draft to web chat, phone intake, the
audit log and the export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from bot.i18n import Renderer, load_catalogues
from bot.pseudonym import contact_id
from storage import repository as repo
from storage import requests
from storage.broadcast_models import Broadcast
from storage.crypto import AddressBox
from storage.models import (
    AuditEvent,
    HelpRequest,
    OutboundRecord,
    RequestEvent,
    RequestStatus,
    StaffSession,
    Urgency,
    utcnow,
)
from tests.web.conftest import PASSWORD, StaffApp, csrf_of

RENDERER = Renderer(load_catalogues())


async def seed_request(
    app: StaffApp,
    sender: str = "chat-person-1",
    language: str = "bn",
    urgency: Urgency = Urgency.NORMAL,
    age: timedelta = timedelta(0),
    category: str = "food_relief",
    location: str = "Male",
) -> HelpRequest:
    """A request as the bot's submit action stores it, for a web-chat person."""
    settings = app.settings
    box = AddressBox.from_settings(settings.encryption_keys, settings.secret_key)
    cid = contact_id(settings.secret_key, "webchat", sender)
    database = app.database()
    async with database.session() as session:
        await repo.touch_contact(session, cid, "webchat", None)
        await repo.set_language(session, cid, language)
        new = requests.NewRequest(
            idempotency_key=f"test:{sender}:{category}:{age}",
            contact_id=cid,
            channel="webchat",
            language=language,
            category=category,
            description=box.seal("no salary 2 month, no food"),
            location=location,
            urgency=urgency,
            consent_share=True,
        )
        created, _ = await requests.open_request(session, settings.deployment, new)
        created.created_at = utcnow() - age
    await database.dispose()
    return created


async def post_form(browser: httpx.AsyncClient, page: str, action: str, **data: str):  # type: ignore[no-untyped-def]
    """Post a form the way the browser does: with the CSRF token from the page it is on."""
    token = csrf_of((await browser.get(page)).text)
    return await browser.post(action, data={"csrf_token": token, **data})


# Every staff route, and what each role gets: 200 a page, 303 done (or "sign in first"),
# 403 not for this role. POSTs send a valid CSRF token so that only the role decides.
ANON, STAFF, CASEWORKER, ADMIN = "anonymous", "staff", "caseworker", "admin"


def row(anonymous: int, staff: int, caseworker: int, admin: int) -> dict[str, int]:
    return {ANON: anonymous, STAFF: staff, CASEWORKER: caseworker, ADMIN: admin}


CASEWORK_PAGE, CASEWORK_ACTION = row(303, 403, 200, 200), row(401, 403, 303, 303)
ADMIN_PAGE = row(303, 403, 403, 200)
BROADCAST_PAGE, BROADCAST_ACTION = row(303, 200, 403, 200), row(401, 303, 403, 303)
BROADCAST_RULE = row(401, 409, 403, 409)
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/"): row(303, 200, 303, 303),
    ("GET", "/login"): row(200, 200, 200, 200),
    ("POST", "/login"): row(403, 403, 403, 403),  # posted without the sign-in form's token
    ("POST", "/logout"): row(401, 303, 303, 303),
    ("GET", "/requests"): CASEWORK_PAGE,
    ("GET", "/requests/new"): CASEWORK_PAGE,
    ("POST", "/requests/new"): CASEWORK_ACTION,
    ("GET", "/requests/{request_id}"): CASEWORK_PAGE,
    ("POST", "/requests/{request_id}/claim"): CASEWORK_ACTION,
    ("POST", "/requests/{request_id}/assign"): CASEWORK_ACTION,
    ("POST", "/requests/{request_id}/status"): CASEWORK_ACTION,
    ("POST", "/requests/{request_id}/notes"): CASEWORK_ACTION,
    ("POST", "/requests/{request_id}/draft"): row(401, 403, 200, 200),
    ("POST", "/requests/{request_id}/reply"): CASEWORK_ACTION,
    # Admins only; without the reference code typed, nothing is erased.
    ("POST", "/requests/{request_id}/erase"): row(401, 403, 403, 422),
    ("GET", "/requests/export.csv"): ADMIN_PAGE,
    ("GET", "/audit"): ADMIN_PAGE,
    # Broadcasts: staff and admins. A fresh draft cannot yet be drafted from, reviewed,
    # approved, sent or paused: 409 says the role passed and the rule did not. (Routes run in
    # sorted order: /variants, which writes the first text, comes after those.)
    ("GET", "/broadcasts"): BROADCAST_PAGE,
    ("POST", "/broadcasts"): BROADCAST_ACTION,
    ("GET", "/broadcasts/{broadcast_id}"): BROADCAST_PAGE,
    ("POST", "/broadcasts/{broadcast_id}/variants"): BROADCAST_ACTION,
    ("POST", "/broadcasts/{broadcast_id}/audience"): BROADCAST_ACTION,
    ("POST", "/broadcasts/{broadcast_id}/draft"): BROADCAST_RULE,
    ("POST", "/broadcasts/{broadcast_id}/review"): BROADCAST_RULE,
    ("POST", "/broadcasts/{broadcast_id}/approve"): BROADCAST_RULE,
    ("POST", "/broadcasts/{broadcast_id}/send"): BROADCAST_RULE,
    ("POST", "/broadcasts/{broadcast_id}/test"): row(401, 422, 403, 422),  # no text yet
    ("POST", "/broadcasts/{broadcast_id}/{command}"): BROADCAST_RULE,
    ("GET", "/broadcasts/{broadcast_id}/progress"): row(303, 286, 403, 286),
    # Programme figures: staff and admins. The report needs a month (400 says the role passed).
    ("GET", "/dashboard"): BROADCAST_PAGE,
    ("GET", "/dashboard/report"): row(303, 400, 403, 400),
}
PUBLIC = {
    "/chat",
    "/healthz",
    "/livez",
    "/metrics",  # counts only; METRICS_TOKEN guards it (tests/web/test_metrics.py)
    "/static",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/media/{name}",  # uploaded broadcast media, fetched by the platforms
}


def staff_routes(client: httpx.AsyncClient) -> set[tuple[str, str]]:
    app = client._transport.app  # type: ignore[attr-defined]
    found = set()
    # FastAPI 0.165 keeps an included router as one entry that points at the original.
    routes = [
        inner
        for route in app.routes
        for inner in getattr(getattr(route, "original_router", None), "routes", [route])
    ]
    for route in routes:
        path = getattr(route, "path", "")
        if path in PUBLIC or path.startswith(("/api/", "/webhooks/", "/docs")):
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, path))
    return found


async def draft_broadcast(app: StaffApp) -> int:
    database = app.database()
    async with database.session() as session:
        made = Broadcast(title="Matrix", topic="general", author_id=app.users[STAFF])
        session.add(made)
        await session.flush()
        made_id = made.id
    await database.dispose()
    return made_id


def form_for(path: str, ids: dict[str, int]) -> dict[str, str]:
    if path == "/broadcasts":
        return {"title": "Flood warning", "topic": "weather"}
    if path.endswith("/broadcasts/{broadcast_id}/test"):
        return {"language": "en", "channel": "telegram", "address": "4242"}
    if path.endswith(("/variants", "/draft", "/review")):
        return {"language": "en", "text": "Flood warning tonight"}
    if path.endswith("/assign"):
        return {"assignee": str(ids[CASEWORKER])}
    if path.endswith("/status"):
        return {"status": "closed"}
    if path.endswith(("/notes", "/draft")):
        return {"text": "called, no answer", "original": "we will call you"}
    if path.endswith("/reply"):
        return {"text": "We will call you tomorrow."}
    if path == "/requests/new":
        return {
            "form_id": "0123456789abcdef0123456789abcdef",
            "category": "shelter",
            "description": "caller has no place to sleep",
            "language": "ne",
            "phone": "+960 7771234",
        }
    return {}


async def test_every_staff_route_answers_each_role_as_the_matrix_says(staff_app: StaffApp) -> None:
    assert staff_routes(staff_app.client) == set(MATRIX), "a staff route is missing from MATRIX"
    for role in (ANON, STAFF, CASEWORKER, ADMIN):
        browser = await staff_app.browser(None if role == ANON else role)
        token = await _token_of(browser, role)
        broadcast_id = await draft_broadcast(staff_app)
        for (method, path), expected in sorted(MATRIX.items()):
            if path == "/logout":
                continue  # checked last: it ends the session
            item = await seed_request(staff_app, sender=f"matrix-{role}-{method}-{path}")
            url = path.replace("{request_id}", str(item.id))
            url = url.replace("{broadcast_id}", str(broadcast_id)).replace("{command}", "pause")
            if method == "GET":
                response = await browser.get(url)
            else:
                data = {"csrf_token": token, **form_for(path, staff_app.users)}
                response = await browser.post(url, data=data)
            assert response.status_code == expected[role], (
                role,
                method,
                path,
                response.text[:300],
            )
        logout = await browser.post("/logout", data={"csrf_token": token})
        assert logout.status_code == MATRIX[("POST", "/logout")][role], role
        await browser.aclose()


async def _token_of(browser: httpx.AsyncClient, role: str) -> str:
    """A signed-in person's CSRF token from a page they may open; none when signed out."""
    if role == ANON:
        return "none"
    page = await browser.get("/", follow_redirects=True)
    return csrf_of(page.text)


async def test_a_form_posted_without_the_csrf_token_changes_nothing(staff_app: StaffApp) -> None:
    item = await seed_request(staff_app)
    browser = await staff_app.browser(CASEWORKER)
    for data in ({}, {"csrf_token": "forged-" + "0" * 57}):
        refused = await browser.post(f"/requests/{item.id}/claim", data=data)
        assert refused.status_code == 403
        assert "did not come from Sahay" in refused.text
    # htmx sends the token as a header; a wrong one is refused the same way.
    refused = await browser.post(
        f"/requests/{item.id}/draft", data={"original": "hi"}, headers={"X-CSRF-Token": "x"}
    )
    assert refused.status_code == 403
    database = staff_app.database()
    async with database.session() as session:
        stored = await session.get(HelpRequest, item.id)
        assert stored is not None
        assert stored.status is RequestStatus.NEW
        assert stored.assignee_id is None
    await database.dispose()
    # The same post with the page's token goes through.
    done = await post_form(browser, f"/requests/{item.id}", f"/requests/{item.id}/claim")
    assert done.status_code == 303


async def test_sign_in_refuses_a_wrong_password_and_sessions_time_out(
    staff_app: StaffApp,
) -> None:
    browser = await staff_app.browser(None)
    token = csrf_of((await browser.get("/login")).text)
    wrong = await browser.post(
        "/login",
        data={"email": "caseworker@sahay.test", "password": "guess", "csrf_token": token},
    )
    assert wrong.status_code == 401
    assert "The email or the password is wrong." in wrong.text
    unknown = await browser.post(
        "/login", data={"email": "nobody@sahay.test", "password": PASSWORD, "csrf_token": token}
    )
    assert unknown.text.count("The email or the password is wrong.") == 1  # no telling which

    right = await browser.post(
        "/login",
        data={"email": "caseworker@sahay.test", "password": PASSWORD, "csrf_token": token},
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/requests"
    cookie = next(c for c in right.headers.get_list("set-cookie") if "sahay_session=" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    signed_in = browser
    assert (await signed_in.get("/requests")).status_code == 200
    database = staff_app.database()
    async with database.session() as session:
        # 31 idle minutes: the session is over.
        await session.execute(
            update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
    expired = await signed_in.get("/requests")
    assert expired.status_code == 303
    assert expired.headers["location"] == "/login"
    async with database.session() as session:
        assert (await session.scalars(select(StaffSession))).all() == []
        failed = await session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "login_failed")
        )
        assert len(failed.all()) == 2
    await database.dispose()


def references_in(html: str) -> list[str]:
    return re.findall(r'data-reference="([A-Z]{2}-[A-Z0-9]{4})"', html)


async def test_the_queue_is_urgent_first_then_oldest_with_late_ones_highlighted(
    staff_app: StaffApp,
) -> None:
    fresh = await seed_request(staff_app, "q1", age=timedelta(hours=1))
    old = await seed_request(staff_app, "q2", age=timedelta(days=4), category="shelter")
    urgent_new = await seed_request(staff_app, "q3", urgency=Urgency.URGENT)
    urgent_late = await seed_request(
        staff_app, "q4", urgency=Urgency.URGENT, age=timedelta(hours=2), language="ne"
    )
    browser = await staff_app.browser(CASEWORKER)
    page = await browser.get("/requests")
    order = [urgent_late.reference, urgent_new.reference, old.reference, fresh.reference]
    assert references_in(page.text) == order
    late = re.findall(r'<tr class="overdue[^"]*" data-reference="([^"]+)"', page.text)
    assert sorted(late) == sorted([urgent_late.reference, old.reference])

    async def shown(**query: str) -> list[str]:
        response = await browser.get("/requests", params=query, headers={"HX-Request": "true"})
        assert "<html" not in response.text  # htmx gets the rows only
        return references_in(response.text)

    assert await shown(urgency="urgent") == [urgent_late.reference, urgent_new.reference]
    assert await shown(category="shelter") == [old.reference]
    assert await shown(language="ne") == [urgent_late.reference]
    assert await shown(age="overdue") == [urgent_late.reference, old.reference]
    assert await shown(age="1d") == [old.reference]
    assert await shown(location="Addu") == []
    assert await shown(category="not-a-category") == order  # ignored, not an error
    await post_form(browser, f"/requests/{old.id}", f"/requests/{old.id}/claim")
    assert await shown(assignee="me") == [old.reference]
    assert await shown(assignee="none") == [
        urgent_late.reference,
        urgent_new.reference,
        fresh.reference,
    ]
    assert await shown(status="assigned") == [old.reference]


async def outbound_of(app: StaffApp, sender: str) -> list[OutboundRecord]:
    database = app.database()
    async with database.session() as session:
        cid = contact_id(app.settings.secret_key, "webchat", sender)
        rows = await session.scalars(
            select(OutboundRecord)
            .where(OutboundRecord.contact_id == cid)
            .order_by(OutboundRecord.id)
        )
        found = list(rows.all())
    await database.dispose()
    return found


async def test_the_workflow_tells_the_person_each_step_in_their_language(
    staff_app: StaffApp,
) -> None:
    item = await seed_request(staff_app, "flow", language="bn")
    browser = await staff_app.browser(CASEWORKER)
    page = f"/requests/{item.id}"
    claimed = await post_form(browser, page, f"{page}/claim")
    assert claimed.status_code == 303
    shown = await browser.get(page)
    assert 'id="assignee">caseworker@sahay.test' in shown.text
    assert 'id="status">assigned' in shown.text
    # Rejecting needs a reason; an impossible move is refused and explained.
    no_reason = await post_form(browser, page, f"{page}/status", status="rejected")
    assert no_reason.status_code == 409
    assert "needs a reason" in no_reason.text
    skip = await post_form(browser, page, f"{page}/status", status="resolved")
    assert skip.status_code == 409
    assert "cannot become resolved" in skip.text
    for status in ("in_progress", "referred", "resolved"):
        moved = await post_form(browser, page, f"{page}/status", status=status)
        assert moved.status_code == 303, moved.text
    told = [r.text for r in await outbound_of(staff_app, "flow")]
    variables = {"reference": item.reference, "category": {"key": "category.food_relief"}}
    expected = [
        RENDERER.text("status.found", "bn", {**variables, "status": {"key": f"status.{s}"}})
        for s in ("assigned", "referred", "resolved")  # in progress is not news to them
    ]
    assert told == expected
    timeline = (await browser.get(page)).text
    assert timeline.count('class="event status"') == 4
    assert "in progress</strong>" in timeline


async def test_a_reply_is_drafted_in_the_persons_language_and_reaches_their_web_chat(
    staff_app: StaffApp,
) -> None:
    item = await seed_request(staff_app, "replyee", language="bn")
    browser = await staff_app.browser(CASEWORKER)
    page = f"/requests/{item.id}"
    token = csrf_of((await browser.get(page)).text)
    mine = "We can give you a food pack on Sunday at the Male office."
    draft = await browser.post(
        f"{page}/draft",
        data={"original": mine},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    machine = staff_app.translate.translated(mine, "bn")
    assert "Machine draft — needs review" in draft.text
    assert f">{machine}</textarea>" in draft.text.replace("&#39;", "'")
    assert staff_app.translate.asked[-1] == {"sl": "en", "tl": "bn", "q": mine}
    edited = machine + " (Sunday 10 am)"
    sent = await browser.post(
        f"{page}/reply",
        data={"csrf_token": token, "original": mine, "text": edited, "machine_text": machine},
    )
    assert sent.status_code == 303
    # The person's web chat picks it up, with a line saying who writes and about what.
    chat = await staff_app.client.get("/api/chat/messages", params={"sender": "replyee"})
    heading = RENDERER.text("casework.reply", "bn", {"reference": item.reference})
    assert [m["text"] for m in chat.json()["messages"]] == [f"{heading}\n{edited}"]
    timeline = (await browser.get(page)).text
    assert "from a machine draft, edited" in timeline
    assert mine in timeline


async def test_the_persons_answer_joins_the_timeline_with_a_translation(
    staff_app: StaffApp,
) -> None:
    item = await seed_request(staff_app, "answers", language="hi")
    browser = await staff_app.browser(CASEWORKER)
    page = f"/requests/{item.id}"
    await post_form(browser, page, f"{page}/draft", original="Can you come on Monday?")
    await post_form(browser, page, f"{page}/reply", text="Kya aap Monday aa sakte hain?")
    # The person answers in the chat (Rasa is down here: the message waits for it, and the
    # caseworker sees it at once all the same).
    answer = await staff_app.client.post(
        "/api/chat/messages", json={"sender": "answers", "text": "haan monday ok, subah"}
    )
    assert answer.status_code == 200
    timeline = (await browser.get(page)).text
    assert "haan monday ok, subah" in timeline
    assert staff_app.translate.translated("haan monday ok, subah", "en") in timeline
    assert {"sl": "hi", "tl": "en", "q": "haan monday ok, subah"} in staff_app.translate.asked
    asked = len(staff_app.translate.asked)
    await browser.get(page)  # the translation is kept: not asked for again
    assert len(staff_app.translate.asked) == asked


async def test_without_a_machine_draft_the_caseworker_can_still_write_the_reply(
    staff_app: StaffApp,
) -> None:
    item = await seed_request(staff_app, "no-mt", language="ta")
    staff_app.translate.down = True
    browser = await staff_app.browser(CASEWORKER)
    page = f"/requests/{item.id}"
    draft = await post_form(browser, page, f"{page}/draft", original="We will call you")
    assert draft.status_code == 200
    assert "No machine draft right now" in draft.text
    assert 'id="reply-text"' in draft.text  # an empty box to write it in Tamil
    assert "Machine draft — needs review" not in draft.text


async def test_a_helpline_caller_gets_a_request_with_a_code_once_however_often_it_is_sent(
    staff_app: StaffApp,
) -> None:
    browser = await staff_app.browser(CASEWORKER)
    form = (await browser.get("/requests/new")).text
    token, form_id = csrf_of(form), re.search(r'name="form_id" value="([0-9a-f]{32})"', form)
    assert form_id
    fields = {
        "csrf_token": token,
        "form_id": form_id.group(1),
        "category": "legal_aid",
        "description": "employer kept passport, caller afraid",
        "language": "si",
        "phone": "+960 777 4321",
        "nationality": "LK",
        "urgent": "true",
        "consent_share": "true",
    }
    assert '<option value="LK">Sri Lanka</option>' in form  # the deployment's countries
    bad = await browser.post("/requests/new", data={**fields, "phone": "call me"})
    assert bad.status_code == 422
    assert "number to call back" in bad.text
    assert "employer kept passport" in bad.text  # what was typed is kept
    first = await browser.post("/requests/new", data=fields)
    again = await browser.post("/requests/new", data=fields)  # a double click
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    shown = (await browser.get(first.headers["location"])).text
    assert re.search(r'class="reference">MV-[2-9A-Z]{4}<', shown)
    assert "+960 777 4321" in shown
    assert "call them back" in shown.lower()
    assert "<dt>Nationality</dt><dd>Sri Lanka</dd>" in shown
    database = staff_app.database()
    async with database.session() as session:
        stored = (await session.scalars(select(HelpRequest))).all()
        assert len(stored) == 1
        assert stored[0].channel == "phone"
        assert stored[0].contact_id is None
        assert stored[0].urgency is Urgency.URGENT
        assert stored[0].nationality == "LK"
        assert "4321" not in (stored[0].phone or "")  # encrypted at rest
    await database.dispose()


async def test_the_export_is_for_admins_leaves_out_addresses_and_is_audited(
    staff_app: StaffApp,
) -> None:
    await seed_request(staff_app, "export-me", language="dv")
    admin = await staff_app.browser(ADMIN)
    response = await admin.get("/requests/export.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    assert rows[0]["language"] == "dv"
    assert rows[0]["status"] == "new"
    for private in ("no salary", "export-me", "phone", "description", "contact_id", "address"):
        assert private not in response.text
    database = staff_app.database()
    async with database.session() as session:
        exports = (
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "export"))
        ).all()
        assert [(e.actor_id, e.detail) for e in exports] == [(staff_app.users[ADMIN], {"rows": 1})]
    await database.dispose()


async def test_every_view_and_change_is_in_the_audit_log_admins_read(staff_app: StaffApp) -> None:
    item = await seed_request(staff_app, "audited")
    worker = await staff_app.browser(CASEWORKER)
    page = f"/requests/{item.id}"
    await post_form(worker, page, f"{page}/status", status="closed")
    await post_form(worker, page, f"{page}/notes", text="closed: duplicate of a phone request")
    database = staff_app.database()
    async with database.session() as session:
        rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
        mine = [
            (e.action, e.target_type)
            for e in rows
            if e.actor_id == staff_app.users[CASEWORKER] and e.target_type != "staff"
        ]
        note = (
            await session.scalars(select(RequestEvent).where(RequestEvent.kind == "note"))
        ).one()
    await database.dispose()
    assert mine.count(("view", "request")) == 2
    assert ("view", "contact") in mine
    assert ("status", "request") in mine
    assert ("note", "request") in mine
    assert "duplicate" not in str(note.data)  # notes are encrypted at rest
    admin = await staff_app.browser(ADMIN)
    log = await admin.get("/audit")
    assert log.status_code == 200
    assert log.text.count("caseworker@sahay.test") >= 5
    assert f"request {item.id}" in log.text
