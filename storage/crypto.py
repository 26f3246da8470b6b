"""People's data is encrypted at rest with Fernet: channel addresses (Telegram chat ids,
WhatsApp numbers), message text, request descriptions, phone numbers, notes and translations.

`ENCRYPTION_KEYS` holds one or more Fernet keys, comma-separated, newest first: the first
encrypts, any of them decrypts (MultiFernet), so a key can be rotated in and, once `sahay keys
rotate` has re-encrypted everything under it, the old one removed. In development, with no keys
set, one key is derived from SECRET_KEY; production refuses to start without keys.

Most fields are sealed and opened by hand where they are written and read. Message text goes
through `SealedText`, a column type that does it on every bind and result, with the box of the
engine it runs on (`attach`), so no code path can write or read it in the clear.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

UNREADABLE = "(unreadable: the key that encrypted this was removed)"


class AddressUnreadable(Exception):
    """A stored value no configured key can decrypt (a key was removed too early)."""


def derived_key(secret_key: str) -> str:
    digest = hashlib.sha256(f"sahay-address-key:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def new_key() -> str:
    return Fernet.generate_key().decode()


class AddressBox:
    """Seals and opens people's data with the configured keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    @classmethod
    def from_settings(cls, encryption_keys: str, secret_key: str) -> AddressBox:
        keys = [k.strip() for k in encryption_keys.split(",") if k.strip()]
        return cls(keys or [derived_key(secret_key)])

    def seal(self, address: str) -> str:
        return self._fernet.encrypt(address.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise AddressUnreadable("no configured key decrypts this value") from exc

    def rotate(self, sealed: str) -> str:
        """The same value sealed under the newest key (its timestamp kept)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken as exc:
            raise AddressUnreadable("no configured key decrypts this value") from exc


_BOX_ATTRIBUTE = "sahay_box"


def attach(dialect: Dialect, box: AddressBox) -> None:
    """Give an engine's dialect the box its `SealedText` columns use."""
    setattr(dialect, _BOX_ATTRIBUTE, box)


def _box_of(dialect: Dialect) -> AddressBox:
    box = getattr(dialect, _BOX_ATTRIBUTE, None)
    if box is None:
        raise RuntimeError("this database was opened without encryption keys (Database(box=))")
    return box  # type: ignore[no-any-return]


class SealedText(TypeDecorator[str]):
    """Text stored as a Fernet token, sealed and opened transparently. Equality filters on
    it cannot work (each seal is different); nothing needs them."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _box_of(dialect).seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        try:
            return _box_of(dialect).open(value)
        except AddressUnreadable:
            return UNREADABLE
