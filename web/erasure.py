"""An admin erases a person at their request, for someone who asked on the phone: their chat
contact, messages, Rasa conversation and open requests (storage/privacy.py), at once. The
admin types the request's reference code to confirm. Audited, with counts only."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from bot.messages import N_
from storage import casework, privacy
from storage.db import Database
from storage.models import HelpRequest
from storage.tracker import TrackerStore
from web.queue import Admin
from web.request_page import Missing, page
from web.templating import render

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@router.post("/requests/{request_id}/erase", response_class=HTMLResponse)
async def erase(
    request: Request,
    staff: Admin,
    request_id: int,
    confirm: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    database: Database = request.app.state.database
    tracker: TrackerStore = request.app.state.tracker
    async with database.session() as session:
        found = await session.get(HelpRequest, request_id)
        if found is None:
            raise Missing
        reference, contact_id = found.reference, found.contact_id
    if confirm.strip().upper() != reference:
        problem = N_("Type the request's reference code to confirm the erasure.")
        return await page(request, staff, request_id, error=problem, status_code=422)
    if contact_id is not None:
        erased = await privacy.erase_contact(database, tracker, contact_id)
    else:  # a helpline caller: the request is all Sahay holds of them
        erased = Counter()
        async with database.session() as session:
            found = await session.get(HelpRequest, request_id)
            if found is not None:
                erased[await privacy.forget_request(session, found)] += 1
    async with database.session() as session:
        await casework.audit(session, staff.user, "erase", "request", request_id, **erased)
    logger.info("An admin erased a person (request %d)", request_id)
    return render(request, "staff/erased.html", {"reference": reference, "erased": erased})
