"""How the public HTTP API (web chat, platform webhooks, health) answers when it refuses, as
its OpenAPI spec documents it: always {"error": "..."}, with {"problems": [...]} naming the
fields at fault when the request did not validate (web/app.py makes these bodies)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    field: str
    problem: str


class ErrorBody(BaseModel):
    error: str
    problems: list[Problem] | None = None


MEANINGS = {
    400: "The body is not valid JSON in UTF-8, or not what this endpoint takes.",
    401: "A required secret or signature header is missing.",
    403: "The secret or signature is wrong.",
    404: "This channel is not configured on this deployment.",
    405: "The method is not allowed here; Allow lists those that are.",
    422: "The request is not valid: `problems` names each field at fault.",
    503: "Sahay cannot store messages right now (the database is down); try again shortly.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route (or the app) that can refuse with these codes."""
    return {code: {"model": ErrorBody, "description": MEANINGS[code]} for code in codes}


def signed_json_body(description: str, header: str, header_description: str) -> dict[str, Any]:
    """`openapi_extra=` for a webhook that reads its raw body (to check the platform's secret
    or signature over the exact bytes) and so declares no model: a JSON object, and the
    header that authenticates it."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "parameters": [
            {
                "name": header,
                "in": "header",
                "required": True,
                "description": header_description,
                "schema": {"type": "string"},
            }
        ],
    }
