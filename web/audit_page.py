"""The audit log, for admins: who viewed or changed which request or contact, and when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from storage import casework
from storage.db import Database
from web.auth import ADMIN, Staff, require
from web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
async def audit_log(
    request: Request, staff: Annotated[Staff, Depends(require(*ADMIN))]
) -> Response:
    database: Database = request.app.state.database
    async with database.session() as session:
        events = await casework.audit_log(session)
        people = await casework.staff_by_id(session)
    return render(request, "staff/audit.html", {"events": events, "people": people})
