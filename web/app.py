"""The composition root of `sahay web`: settings, database, Rasa client, routers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import redis.asyncio as redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from telegram import Bot
from telegram.error import TelegramError

from bot import gateway, metrics
from bot.channels import telegram, webchat, whatsapp
from bot.delivery import DeliveryEngine
from bot.http_errors import errors
from bot.i18n import Renderer, load_catalogues
from bot.messages import N_
from bot.pipeline import Pipeline
from bot.rasa_client import RasaClient
from bot.settings import Settings
from nlu.language import LanguageGuesser, LazyGuesser
from nlu.training_data import examples_by_language
from storage.db import Database
from storage.tracker import TrackerStore
from web import (
    audit_page,
    auth,
    broadcast_pages,
    broadcast_test,
    chat_page,
    dashboard,
    erasure,
    health,
    media,
    queue,
    request_page,
)
from web.security import SecurityHeaders
from web.templating import render
from web.translation import GoogleTranslator, Translator

logger = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent
INVALID_BODY = "The request body is not valid JSON in UTF-8."


def build_pipeline(
    settings: Settings,
    database: Database,
    http: httpx.AsyncClient,
    guesser: LanguageGuesser | None = None,
) -> Pipeline:
    return Pipeline(
        box=database.box or settings.box(),
        database=database,
        rasa=RasaClient(
            http, settings.rasa_url, settings.rasa_token, settings.rasa_timeout_seconds
        ),
        renderer=Renderer(load_catalogues(), default_language=settings.default_language),
        secret_key=settings.secret_key,
        deployment=settings.deployment,
        guesser=guesser or LazyGuesser(examples_by_language),
    )


def build_gateway(
    settings: Settings, pipeline: Pipeline, http: httpx.AsyncClient, bot: Bot | None
) -> gateway.Gateway:
    assert pipeline.box is not None  # noqa: S101 - build_pipeline always sets one
    engine = DeliveryEngine(
        pipeline.database, pipeline.box, pipeline.renderer, gateway.senders(settings, http, bot)
    )
    return gateway.Gateway(pipeline, engine, answerers=settings.answer_concurrency)


def create_app(
    settings: Settings | None = None,
    guesser: LanguageGuesser | None = None,
    translator: Translator | None = None,
) -> FastAPI:
    """The app; `guesser` (built from the training data, a few seconds) may be shared."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        auth.unknown_user_hash()  # before the first sign-in, so that each takes as long
        database = Database(settings.database_url, settings.box())
        async with httpx.AsyncClient() as http:
            app.state.settings = settings
            app.state.database = database
            app.state.http = http
            pipeline = build_pipeline(settings, database, http, guesser)
            if isinstance(pipeline.guesser, LazyGuesser):  # ready before the first message
                await pipeline.guesser.prepared()
            bot = gateway.telegram_bot(settings)
            app.state.pipeline = pipeline
            app.state.telegram_bot = bot
            app.state.gateway = build_gateway(settings, pipeline, http, bot)
            app.state.translator = translator or GoogleTranslator(
                settings.translate_url, settings.translate_timeout_seconds
            )
            app.state.background = set()
            app.state.tracker = TrackerStore(settings.tracker_store_url)
            app.state.redis = (
                redis.Redis.from_url(settings.redis_url, socket_timeout=3)
                if settings.redis_url
                else None
            )
            if bot is not None:
                await _start_bot(bot)
            try:
                yield
            finally:
                await asyncio.gather(*app.state.background, return_exceptions=True)
                await app.state.translator.close()
                await app.state.gateway.close()
                await app.state.tracker.dispose()
                if app.state.redis is not None:
                    await app.state.redis.aclose()
                if bot is not None:
                    await bot.shutdown()
                await database.dispose()

    # Every route may refuse a body it cannot read, a method it does not take, or answer 503
    # while the database is down: the spec says so, with the error body they all use.
    app = FastAPI(
        title="Sahay", version="0.1.0", lifespan=lifespan, responses=errors(400, 405, 422, 503)
    )
    app.include_router(webchat.router)
    app.include_router(telegram.router)
    app.include_router(whatsapp.router)
    app.include_router(health.router)
    app.include_router(chat_page.router)
    app.include_router(auth.router)
    app.include_router(queue.router)
    app.include_router(request_page.router)
    app.include_router(erasure.router)
    app.include_router(audit_page.router)
    app.include_router(dashboard.router)
    app.include_router(broadcast_test.router)  # before broadcast_pages' /{command}
    app.include_router(broadcast_pages.router)
    app.include_router(media.router)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.add_middleware(SecurityHeaders, https=settings.secure_cookies)

    app.add_exception_handler(auth.NotSignedIn, _sign_in_first)
    app.add_exception_handler(auth.Forbidden, _forbidden)
    app.add_exception_handler(auth.CsrfRefused, _csrf_refused)
    app.add_exception_handler(request_page.Missing, _no_such_request)
    app.add_exception_handler(broadcast_pages.NoSuchBroadcast, _no_such_broadcast)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(SQLAlchemyError, _database_down)
    # asyncpg raises the socket's own error when the server cannot be reached at all.
    app.add_exception_handler(OSError, _database_down)
    return app


async def _start_bot(bot: Bot) -> None:
    """getMe once; when Telegram cannot be reached the app starts anyway (webhooks are
    stored, sends are retried by the delivery engine)."""
    try:
        await bot.initialize()
    except TelegramError as exc:
        logger.warning("Telegram not reachable at start-up (%s)", type(exc).__name__)


async def _sign_in_first(request: Request, _exc: Exception) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    if request.method == "GET":
        return RedirectResponse("/login", status_code=303)
    return render(request, "staff/forbidden.html", {"message": N_("Please sign in again.")}, 401)


async def _forbidden(request: Request, _exc: Exception) -> Response:
    message = N_("Your role does not allow this page.")
    return render(request, "staff/forbidden.html", {"message": message}, 403)


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    message = N_("This form expired or did not come from Sahay. Reload the page and try again.")
    return render(request, "staff/forbidden.html", {"message": message}, 403)


async def _no_such_request(request: Request, _exc: Exception) -> Response:
    return render(request, "staff/forbidden.html", {"message": N_("No such request.")}, 404)


async def _no_such_broadcast(request: Request, _exc: Exception) -> Response:
    return render(request, "staff/forbidden.html", {"message": N_("No such broadcast.")}, 404)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """A clear error that names the fields at fault and never echoes what was sent."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse({"error": INVALID_BODY}, status_code=400)
    problems = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e["msg"]}
        for e in errors
    ]
    return JSONResponse({"error": "The request is not valid.", "problems": problems}, 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Every HTTP error as {"error": ...}; a body FastAPI could not decode is reported as such."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    message = str(exc.detail)
    if exc.status_code == 400 and "parsing the body" in message:
        message = INVALID_BODY
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path. Starlette names only the first route's,
    so a GET and a POST on one path answered OPTIONS with "Allow: POST"."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        # FastAPI keeps an included router as one entry that points at the original.
        inner = getattr(getattr(route, "original_router", None), "routes", [route])
        for candidate in inner:
            takes = getattr(candidate, "methods", None) or set()
            if (
                isinstance(candidate, BaseRoute)
                and candidate.matches(request.scope)[0] is not Match.NONE
            ):
                methods |= set(takes)
    return ", ".join(sorted(methods))


async def _database_down(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("Database error: %s", type(exc).__name__)
    metrics.ERRORS.labels("database").inc()
    return JSONResponse(
        {"error": "Sahay cannot store messages right now. Please try again shortly."},
        status_code=503,
    )
