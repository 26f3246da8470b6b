"""Pseudonymous contact ids: a keyed hash, so the database never needs the platform id."""

from __future__ import annotations

import hashlib
import hmac


def contact_id(secret_key: str, channel: str, platform_id: str) -> str:
    digest = hmac.new(
        secret_key.encode(), f"{channel}:{platform_id}".encode(), hashlib.sha256
    ).hexdigest()
    return f"c_{digest[:40]}"
