"""Security headers as a browser sees them: no framing, only Sahay's own scripts, nothing
sniffed; staff pages never cached; HSTS only when the deployment is on HTTPS."""

from __future__ import annotations

import httpx
from cryptography.fernet import Fernet

from tests.web.conftest import app_client, offline_settings


async def test_pages_refuse_framing_and_foreign_scripts_and_staff_pages_are_not_cached(
    offline_client: httpx.AsyncClient,
) -> None:
    for path in ("/login", "/chat", "/requests", "/healthz"):
        response = await offline_client.get(path)
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, path
        assert "script-src 'self'" in policy, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["cache-control"] == "no-store", path
        assert "strict-transport-security" not in response.headers, path  # plain http here
    style = await offline_client.get("/static/staff.css")
    assert style.status_code == 200
    assert style.headers.get("cache-control") != "no-store"  # static files may be cached


async def test_https_deployments_send_hsts(db_url: str) -> None:
    settings = offline_settings(
        db_url,
        sahay_env="production",
        secret_key="a-production-secret-of-more-than-32-characters",
        rasa_token="rasa-token-for-the-test",
        encryption_keys=Fernet.generate_key().decode(),
    )
    assert settings.secure_cookies
    async for client in app_client(settings):
        response = await client.get("/login")
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
