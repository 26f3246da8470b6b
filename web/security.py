"""Security headers on every response: a Content-Security-Policy that allows only Sahay's own
scripts and styles (htmx is vendored, nothing comes from a CDN) and no framing; HSTS when the
deployment is served over HTTPS; and staff pages, which show people's data, never cached."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # A broadcast's image or recording may be a link to another https site.
        "img-src 'self' https: data:",
        "media-src 'self' https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# FastAPI's own API pages load Swagger UI from a CDN with inline scripts: left without CSP.
API_DOCS = ("/docs", "/redoc")
# Cached on purpose: static files and uploaded broadcast media. Everything else is no-store.
CACHEABLE = ("/static/", "/media/")


class SecurityHeaders:
    def __init__(self, app: App, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                added = list(COMMON)
                if not path.startswith(API_DOCS):
                    added.append((b"content-security-policy", CSP.encode()))
                if self.https:
                    added.append(HSTS)
                if not path.startswith(CACHEABLE) and b"cache-control" not in present:
                    added.append((b"cache-control", b"no-store"))
                headers += [(name, value) for name, value in added if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
