"""/media/<name>: the recordings and images staff uploaded, for Telegram and WhatsApp to fetch
when a broadcast carries them. Public by necessity (the platforms fetch without signing in)
and harmless: broadcast content is public information, and the names cannot be guessed."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from storage import media
from storage.db import Database

router = APIRouter(include_in_schema=False)


@router.get("/media/{name}")
async def served(request: Request, name: str) -> Response:
    database: Database = request.app.state.database
    async with database.session() as session:
        found = await media.by_name(session, name)
    if found is None or name != media.public_name(found):
        raise HTTPException(404, "No such file")
    return Response(
        found.data,
        media_type=found.mime,
        headers={
            "Cache-Control": "public, max-age=604800, immutable",
            "ETag": f'"{found.sha256}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
