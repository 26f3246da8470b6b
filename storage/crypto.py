"""Channel addresses (Telegram chat ids, WhatsApp numbers) are encrypted at rest with Fernet.

`ENCRYPTION_KEYS` holds one or more Fernet keys, comma-separated, newest first: the first
encrypts, any of them decrypts (MultiFernet), so a key can be rotated in. In development, with
no keys set, one key is derived from SECRET_KEY; production refuses to start without keys.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class AddressUnreadable(Exception):
    """A stored address no configured key can decrypt (a key was removed too early)."""


def derived_key(secret_key: str) -> str:
    digest = hashlib.sha256(f"sahay-address-key:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


class AddressBox:
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
            raise AddressUnreadable("no configured key decrypts this address") from exc
