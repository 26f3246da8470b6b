"""schemathesis against the app's own OpenAPI spec (the chat API, the platform webhooks,
/healthz and /livez), through the real app and its lifespan on a migrated SQLite database:
no input makes a 5xx, and every response matches what the spec says (status codes, content
types, bodies). Rasa is on a closed port, as when it is down."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import migrated_database, sqlite_url, unused_port
from tests.web.conftest import offline_settings, shared_guesser
from web.app import create_app

# Made at import: schemathesis reads the spec when tests are collected. The database is
# migrated before the first call starts the app's lifespan (`migrated`, below).
DATABASE_URL = sqlite_url(Path(tempfile.mkdtemp(prefix="sahay-openapi-")))
APP = create_app(
    offline_settings(
        DATABASE_URL,
        telegram_bot_token="123456:openapi",
        # Nothing listens there: replies wait in the outbox, as when Telegram is down.
        telegram_api_base_url=f"http://127.0.0.1:{unused_port()}/bot",
        telegram_webhook_url="https://sahay.example.org/webhooks/telegram",
        whatsapp_token="t",
        whatsapp_phone_number_id="1",
        whatsapp_app_secret="openapi-app-secret",
        whatsapp_verify_token="verify-me",
        whatsapp_api_base_url=f"http://127.0.0.1:{unused_port()}",
    ),
    shared_guesser(),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def migrated() -> None:
    async def migrate() -> None:
        await (await migrated_database(DATABASE_URL)).dispose()

    asyncio.run(migrate())


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_to_its_schema_and_never_fails_with_a_5xx(
    case: schemathesis.Case,
) -> None:
    if (case.method.upper(), case.path) == ("GET", "/healthz"):
        # Rasa and the action server are down here: readiness must say so, with a 503 that
        # keeps to its schema and names them (the one 5xx the spec promises).
        response = case.call()
        case.validate_response(response, excluded_checks=[not_a_server_error])
        assert response.status_code == 503
        components = response.json()["components"]
        assert [name for name, c in components.items() if not c["ready"]] == [
            "rasa",
            "action_server",
        ]
        return
    case.call_and_validate()
