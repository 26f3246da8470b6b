"""Prometheus metrics: messages in and out per channel, Rasa latency, deliveries and errors,
and (computed when scraped) the depth of every queue.

Several `sahay web` and `sahay worker` processes run side by side in production, so counters
live in prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (`sahay
run` sets it and empties it at start): /metrics on any web process reports the sum over all
of them. Without it (one process, tests) the default registry is used. No label holds a
person's data: channels, outcomes and component names only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

MESSAGES_IN = Counter(
    "sahay_messages_in", "Messages received from people (repeats not counted)", ["channel"]
)
MESSAGES_OUT = Counter(
    "sahay_messages_out",
    "Replies handed to a platform, or not, per channel and outcome",
    ["channel", "outcome"],  # sent, failed, retry (rate-limited or transient: sent later)
)
BROADCAST_DELIVERIES = Counter(
    "sahay_broadcast_deliveries",
    "Broadcast messages per channel and outcome",
    ["channel", "outcome"],  # sent, failed, pending (to be tried again)
)
RASA_LATENCY = Histogram(
    "sahay_rasa_latency_seconds",
    "Time for one Rasa turn, answered or not",
    ["outcome"],  # ok, unavailable, error
    buckets=(0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30),
)
ERRORS = Counter(
    "sahay_errors", "Failures, by component", ["component"]
)  # rasa, database, delivery, erasure


def _counted() -> CollectorRegistry:
    """This process's own metrics, or every process's (multiprocess mode)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


class _Depths:
    """Queue depths read from the database at scrape time (the same for every process)."""

    def __init__(self, depths: Mapping[str, int]) -> None:
        self._depths = depths

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "sahay_queue_depth", "Work waiting, per queue", labels=["queue"]
        )
        for queue, depth in sorted(self._depths.items()):
            family.add_metric([queue], depth)
        yield family


def exposition(depths: Mapping[str, int]) -> tuple[bytes, str]:
    """The text Prometheus scrapes, and its content type."""
    scraped = CollectorRegistry()
    scraped.register(_Depths(depths))
    return generate_latest(_counted()) + generate_latest(scraped), CONTENT_TYPE_LATEST
