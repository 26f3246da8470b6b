"""/metrics: what Prometheus scrapes counts messages in and out per channel, Rasa's latency and
errors, and the queues' depth; with METRICS_TOKEN set, only a bearer of it reads them."""

from __future__ import annotations

import re

from tests.web.conftest import app_client, offline_settings


def value(scraped: str, name: str, labels: str) -> float:
    found = re.search(rf"^{name}\{{{re.escape(labels)}\}} ([0-9.e+-]+)$", scraped, re.M)
    return float(found.group(1)) if found else 0.0


async def test_a_chat_message_shows_in_the_counts_and_the_queue(db_url: str) -> None:
    async for client in app_client(offline_settings(db_url)):
        before = (await client.get("/metrics")).text
        reply = await client.post("/api/chat/messages", json={"sender": "m1", "text": "hi"})
        assert reply.status_code == 200  # "try again": Rasa is down here
        after = await client.get("/metrics")
        assert after.headers["content-type"].startswith("text/plain")
        scraped = after.text
        inbound = 'channel="webchat"'
        assert value(scraped, "sahay_messages_in_total", inbound) == (
            value(before, "sahay_messages_in_total", inbound) + 1
        )
        assert value(scraped, "sahay_messages_out_total", 'channel="webchat",outcome="sent"') >= 1
        down = 'outcome="unavailable"'
        assert value(scraped, "sahay_rasa_latency_seconds_count", down) > value(
            before, "sahay_rasa_latency_seconds_count", down
        )
        assert value(scraped, "sahay_errors_total", 'component="rasa"') >= 1
        # The message waits for Rasa: the inbound queue holds it.
        assert value(scraped, "sahay_queue_depth", 'queue="inbound"') == 1
        assert "m1" not in scraped  # counts, never who


async def test_with_a_token_set_only_its_bearer_reads_the_metrics(db_url: str) -> None:
    async for client in app_client(offline_settings(db_url, metrics_token="scrape-me-42")):
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-42"})
        assert right.status_code == 200
        assert "sahay_queue_depth" in right.text
