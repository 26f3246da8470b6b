"""Readiness: the database, Rasa (with a model loaded) and the action server, each reported."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot import metrics
from bot.errors import SahayError
from storage import repository as repo

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT = 3.0


async def _component(check: Awaitable[bool], not_ready: str) -> dict[str, Any]:
    try:
        ready = await asyncio.wait_for(check, CHECK_TIMEOUT)
    except (
        TimeoutError,
        SahayError,
        httpx.HTTPError,
        SQLAlchemyError,
        OSError,
        RedisError,
    ) as exc:
        return {"ready": False, "detail": f"unreachable ({type(exc).__name__})"}
    return {"ready": True} if ready else {"ready": False, "detail": not_ready}


async def _database_ok(request: Request) -> bool:
    await request.app.state.database.ping()
    return True


async def _action_server_ok(request: Request) -> bool:
    http: httpx.AsyncClient = request.app.state.http
    response = await http.get(request.app.state.settings.action_server_url.rstrip("/") + "/health")
    return response.status_code == 200


async def _redis_ok(request: Request) -> bool:
    return bool(await request.app.state.redis.ping())


class Component(BaseModel):
    ready: bool
    detail: str | None = None


class Health(BaseModel):
    status: Literal["ready", "unavailable"]
    components: dict[str, Component]


@router.get(
    "/healthz",
    response_model=None,
    responses={
        200: {"model": Health, "description": "Every component is ready."},
        503: {"model": Health, "description": "Some component is not ready; it says which."},
    },
)
async def healthz(request: Request) -> JSONResponse:
    """200 when every component is ready, else 503; the body gives each component's state.
    Redis is one of them when REDIS_URL is set (shared pacing, Rasa's lock store)."""
    checks = {
        "database": _component(_database_ok(request), "database not reachable"),
        "rasa": _component(request.app.state.pipeline.rasa.model_loaded(), "no model loaded"),
        "action_server": _component(_action_server_ok(request), "action server not healthy"),
    }
    if request.app.state.redis is not None:
        checks["redis"] = _component(_redis_ok(request), "Redis not answering")
    components = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    ready = all(c["ready"] for c in components.values())
    body = {"status": "ready" if ready else "unavailable", "components": components}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/livez")
async def livez() -> dict[str, str]:
    """Liveness: the process answers. Readiness, per component, is /healthz."""
    return {"status": "alive"}


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "Prometheus text format.", "content": {"text/plain": {}}},
        401: {"description": "METRICS_TOKEN is set and the bearer token is missing or wrong."},
    },
)
async def prometheus(request: Request) -> Response:
    """Counts only, never a person's data: messages in and out per channel, Rasa latency,
    broadcast deliveries, errors per component, and the depth of each queue."""
    token = request.app.state.settings.metrics_token
    given = request.headers.get("authorization", "")
    if token and not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return JSONResponse({"error": "A bearer token is required."}, status_code=401)
    try:
        async with request.app.state.database.session() as session:
            depths = await repo.queue_depths(session)
    except (SQLAlchemyError, OSError):
        metrics.ERRORS.labels("database").inc()
        depths = {}
    body, content_type = metrics.exposition(depths)
    return Response(body, media_type=content_type)
