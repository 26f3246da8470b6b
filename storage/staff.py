"""Staff accounts: caseworkers, staff and admins, with Argon2id password hashes."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StaffRole, StaffUser

MIN_PASSWORD = 12
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}")
# argon2-cffi's defaults are Argon2id with the RFC 9106 low-memory parameters.
_HASHER = PasswordHasher()


class StaffError(ValueError):
    """An account that cannot be created as asked; the message says why."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_user(
    session: AsyncSession, email: str, password: str, role: StaffRole, language: str = "en"
) -> StaffUser:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise StaffError(f"not an email address: {email!r}")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password must have at least {MIN_PASSWORD} characters")
    taken = await session.scalar(
        select(func.count()).select_from(StaffUser).where(StaffUser.email == email)
    )
    if taken:
        raise StaffError(f"{email} already has an account")
    user = StaffUser(
        email=email, password_hash=hash_password(password), role=role, language=language
    )
    session.add(user)
    await session.flush()
    return user
