"""Machine-translation drafts for staff, behind one small interface. A draft is only ever a
suggestion: a person reads and confirms it before anything is sent.

The Google implementation uses googletrans (the translate.googleapis.com "gtx" endpoint).
`TRANSLATE_URL` points it elsewhere: tests run a local server that speaks the same protocol.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx
from googletrans import Translator as GoogleClient
from googletrans.constants import DEFAULT_USER_AGENT

logger = logging.getLogger(__name__)
GOOGLE_URL = "https://translate.googleapis.com"
MAX_CHARACTERS = 4000  # what the gtx endpoint takes in one GET


class TranslationUnavailable(Exception):
    """No draft could be made (the service is down, slow or refused); staff write it themselves."""


class Translator(Protocol):
    async def translate(self, text: str, source: str, target: str) -> str: ...

    async def close(self) -> None: ...


class _Rebased(httpx.AsyncBaseTransport):
    """Sends every request to `base` instead of the host googletrans names."""

    def __init__(self, base: str) -> None:
        self._base = httpx.URL(base)
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self._base.scheme, host=self._base.host, port=self._base.port
        )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class GoogleTranslator:
    def __init__(self, base_url: str = GOOGLE_URL, timeout_seconds: float = 5.0) -> None:
        # raise_exception: without it googletrans hands back the original text as if it were
        # the translation when Google refuses, and staff would send it unknowingly.
        self._client = GoogleClient(raise_exception=True)
        http = httpx.AsyncClient(
            transport=None if base_url == GOOGLE_URL else _Rebased(base_url),
            timeout=timeout_seconds,
            headers={"User-Agent": DEFAULT_USER_AGENT},
        )
        self._client.client = http

    async def translate(self, text: str, source: str, target: str) -> str:
        if source == target or not text.strip():
            return text
        try:
            result = await self._client.translate(text[:MAX_CHARACTERS], dest=target, src=source)
        except (httpx.HTTPError, ValueError, IndexError, TypeError) as exc:
            logger.warning("Machine translation unavailable: %s", type(exc).__name__)
            raise TranslationUnavailable from exc
        except Exception as exc:  # googletrans raises a bare Exception for a non-200 answer
            logger.warning("Machine translation refused: %s", type(exc).__name__)
            raise TranslationUnavailable from exc
        translated = str(result.text or "")
        if not translated.strip():
            raise TranslationUnavailable
        return translated

    async def close(self) -> None:
        await self._client.client.aclose()
