"""Sign-in throttling: after too many failed sign-ins for one account, or from one client
address, within a window, sign-in from there is refused (429) until the window has passed,
without even checking the password, so guessing is slow and Argon2 cannot be used to load the
server. Failures are rows in the shared database, so every `sahay web` process counts the same
ones; they are stored as keyed hashes (no email or IP address is kept) and deleted once older
than the window. A successful sign-in clears its account's failures, not its address's."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from storage.models import LoginFailure, utcnow


@dataclass(frozen=True)
class Throttle:
    secret: bytes
    per_account: int
    per_address: int
    window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        return cls(
            secret=hmac.new(settings.secret_key.encode(), b"login-throttle", "sha256").digest(),
            per_account=settings.login_failures_per_account,
            per_address=settings.login_failures_per_address,
            window=timedelta(minutes=settings.login_throttle_minutes),
        )

    def _key(self, kind: str, value: str) -> str:
        return hmac.new(self.secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def keys(self, email: str, address: str) -> tuple[str, str]:
        """The keys of an account (its email as stored: trimmed, lower-case) and an address."""
        return self._key("account", email), self._key("address", address)

    async def refused(self, session: AsyncSession, email: str, address: str) -> bool:
        """Whether this account or this address has used up its failures in the window."""
        account, place = self.keys(email, address)
        since = utcnow() - self.window
        counts = dict(
            (
                await session.execute(
                    select(LoginFailure.key, func.count())
                    .where(LoginFailure.key.in_([account, place]), LoginFailure.at > since)
                    .group_by(LoginFailure.key)
                )
            ).all()
        )
        return counts.get(account, 0) >= self.per_account or (
            counts.get(place, 0) >= self.per_address
        )

    async def failed(self, session: AsyncSession, email: str, address: str) -> None:
        account, place = self.keys(email, address)
        now = utcnow()
        await session.execute(delete(LoginFailure).where(LoginFailure.at <= now - self.window))
        session.add_all([LoginFailure(key=account, at=now), LoginFailure(key=place, at=now)])

    async def succeeded(self, session: AsyncSession, email: str) -> None:
        account, _ = self.keys(email, "")
        await session.execute(delete(LoginFailure).where(LoginFailure.key == account))
