"""An admin erases a person who asked on the phone: the reference code must be typed, the
person's chat, messages and open requests are gone from every table at once, the erasure is
audited with counts only, and other people's requests stay."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from storage import repository as repo
from storage.models import AuditEvent, Contact, HelpRequest
from tests.conftest import TEST_BOX
from tests.leaks import where_found
from tests.web.conftest import StaffApp, csrf_of
from tests.web.test_casework import ADMIN, CASEWORKER, post_form, seed_request


async def test_an_admin_erases_a_chat_person_once_the_reference_is_typed(
    staff_app: StaffApp,
) -> None:
    item = await seed_request(staff_app, "erase-me-7741")
    kept = await seed_request(staff_app, "someone-else")
    database = staff_app.database()
    async with database.session() as session:
        await repo.store_inbound(
            session, channel="webchat", platform_message_id="w1", contact_id=item.contact_id or "",
            text="mera naam Rahim, room 12 Hulhumale",
        )  # fmt: skip
    admin = await staff_app.browser(ADMIN)
    page = f"/requests/{item.id}"
    assert 'id="erase-confirm"' in (await admin.get(page)).text
    caseworker = await staff_app.browser(CASEWORKER)
    assert 'id="erase-confirm"' not in (await caseworker.get(page)).text

    wrong = await post_form(admin, page, f"{page}/erase", confirm="XX-0000")
    assert wrong.status_code == 422
    assert "reference code" in wrong.text
    async with database.session() as session:
        assert await session.get(HelpRequest, item.id) is not None  # nothing erased

    done = await post_form(admin, page, f"{page}/erase", confirm=item.reference.lower())
    assert done.status_code == 200
    assert item.reference in done.text
    needles = [item.contact_id or "", "erase-me-7741", "Rahim, room 12", item.reference]
    assert await where_found(database.engine, needles[:3], TEST_BOX) == []
    async with database.session() as session:
        assert await session.get(HelpRequest, item.id) is None
        assert await session.get(HelpRequest, kept.id) is not None
        assert await session.get(Contact, kept.contact_id) is not None
        [audit] = await session.scalars(select(AuditEvent).where(AuditEvent.action == "erase"))
        assert audit.actor_id == staff_app.users[ADMIN]
        assert audit.detail["requests_deleted"] == 1
        assert audit.detail["messages_in"] == 1
    await database.dispose()
    assert (await admin.get(page)).status_code == 404


async def test_an_admin_erases_a_helpline_callers_request(staff_app: StaffApp) -> None:
    worker = await staff_app.browser(CASEWORKER)
    page_html = (await worker.get("/requests/new")).text
    form_id = re.search(r'name="form_id" value="([0-9a-f]{32})"', page_html)
    assert form_id
    form = {
        "csrf_token": csrf_of(page_html), "form_id": form_id.group(1), "category": "legal_aid",
        "language": "hi", "phone": "+960 7654 3210",
        "description": "caller lost passport, employer keeps it",
    }  # fmt: skip
    created = await worker.post("/requests/new", data=form)
    assert created.status_code == 303
    request_id = int(created.headers["location"].rsplit("/", 1)[1])
    database = staff_app.database()
    async with database.session() as session:
        request = await session.get(HelpRequest, request_id)
        assert request is not None
        reference = request.reference
    admin = await staff_app.browser(ADMIN)
    page = f"/requests/{request_id}"
    assert (await post_form(admin, page, f"{page}/erase", confirm=reference)).status_code == 200
    found = await where_found(database.engine, ["7654 3210", "lost passport"], TEST_BOX)
    async with database.session() as session:
        left = await session.scalar(select(func.count()).select_from(HelpRequest))
    await database.dispose()
    assert found == []
    assert left == 0
