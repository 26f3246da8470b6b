"""Recordings and images uploaded for broadcasts (audio matters for people who do not read):
checked by their bytes, not by what the browser says they are; kept in the database so every
web process and worker sees them; served to the platforms under an unguessable name."""

from __future__ import annotations

import hashlib
import secrets

import filetype
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcast_models import MediaFile

# What both platforms take (WhatsApp's list is the shorter), by MIME type, with the
# extension the served name ends in.
ALLOWED = {
    "audio": {
        "audio/ogg": "ogg",
        "audio/mpeg": "mp3",
        "audio/mp4": "m4a",
        "audio/aac": "aac",
        "audio/amr": "amr",
    },
    "image": {"image/jpeg": "jpg", "image/png": "png"},
}
# WhatsApp's limits, the lower of the two platforms'.
MAX_BYTES = {"audio": 16 * 1024 * 1024, "image": 5 * 1024 * 1024}


class MediaRefused(ValueError):
    """Why an upload was not kept (shown to the staff member)."""


def check(kind: str, data: bytes) -> str:
    """The file's MIME type, read from its first bytes; MediaRefused if it will not do."""
    if kind not in ALLOWED:
        raise MediaRefused("Say whether the file is a recording (audio) or an image")
    if not data:
        raise MediaRefused("The file is empty")
    if len(data) > MAX_BYTES[kind]:
        raise MediaRefused(
            f"The file is larger than {MAX_BYTES[kind] // (1024 * 1024)} MB, "
            "the most WhatsApp takes"
        )
    guess = filetype.guess(data[:8192])
    mime = guess.mime if guess is not None else ""
    if mime not in ALLOWED[kind]:
        formats = ", ".join(ALLOWED[kind].values())
        raise MediaRefused(f"That file is not a {kind} the platforms take ({formats})")
    return mime


async def store(session: AsyncSession, kind: str, data: bytes, staff_id: int) -> MediaFile:
    mime = check(kind, data)
    media = MediaFile(
        token=secrets.token_urlsafe(24),
        kind=kind,
        mime=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=staff_id,
    )
    session.add(media)
    await session.flush()
    return media


def public_name(media: MediaFile) -> str:
    return f"{media.token}.{ALLOWED[media.kind][media.mime]}"


async def by_name(session: AsyncSession, name: str) -> MediaFile | None:
    token = name.split(".", 1)[0]
    return await session.scalar(select(MediaFile).where(MediaFile.token == token))
