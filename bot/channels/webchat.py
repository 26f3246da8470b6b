"""Web chat: a JSON API (`/api/chat/messages`) that the page at /chat and other clients use."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot import metrics
from bot.channels.base import MAX_TEXT_LENGTH, InboundMessage, OutboundMessage
from bot.pipeline import Pipeline, to_outbound
from bot.pseudonym import contact_id
from storage import repository as repo

CHANNEL = "webchat"
SENDER_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
# Something other than what str.strip() removes (Unicode whitespace and separators).
NOT_BLANK = r"[^\s\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender: str = Field(pattern=SENDER_PATTERN, description="An opaque id the client keeps.")
    text: str = Field(
        max_length=MAX_TEXT_LENGTH,
        # Documented as the validator below enforces it: not only spaces.
        pattern=NOT_BLANK,
        description="What the person wrote (not only spaces).",
    )
    id: str | None = Field(
        default=None,
        pattern=SENDER_PATTERN,
        description="The client's id for this message; a retry with the same id is answered "
        "once. Generated when missing.",
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value.strip()


class ButtonOut(BaseModel):
    title: str
    payload: str


class MessageOut(BaseModel):
    text: str
    buttons: list[ButtonOut]


class ChatResponse(BaseModel):
    messages: list[MessageOut]
    language: str


def get_pipeline(request: Request) -> Pipeline:
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
router = APIRouter(prefix="/api/chat", tags=["web chat"])


@router.post("/messages", response_model=ChatResponse)
async def post_message(body: ChatRequest, pipeline: PipelineDep) -> ChatResponse:
    """Send a message as `sender`; the bot's replies come back in the response."""
    message = InboundMessage(
        channel=CHANNEL,
        sender=body.sender,
        platform_message_id=body.id or uuid.uuid4().hex,
        text=body.text,
    )
    replies = await pipeline.receive(message)
    return await _deliver(pipeline, body.sender, replies)


@router.get("/messages", response_model=ChatResponse)
async def get_messages(
    pipeline: PipelineDep, sender: Annotated[str, Query(pattern=SENDER_PATTERN)]
) -> ChatResponse:
    """Replies that were not handed over yet (e.g. answered after Rasa came back)."""
    cid = contact_id(pipeline.secret_key, CHANNEL, sender)
    async with pipeline.database.session() as session:
        queued = [to_outbound(r) for r in await repo.queued_for(session, cid, CHANNEL)]
    return await _deliver(pipeline, sender, queued)


async def _deliver(
    pipeline: Pipeline, sender: str, replies: list[OutboundMessage]
) -> ChatResponse:
    """Web chat delivers by handing the replies over in the HTTP response."""
    async with pipeline.database.session() as session:
        await repo.mark_sent(session, [r.id for r in replies if r.id is not None])
    metrics.MESSAGES_OUT.labels(CHANNEL, "sent").inc(len(replies))
    language = (
        replies[-1].language
        if replies
        else await pipeline.language_of(contact_id(pipeline.secret_key, CHANNEL, sender))
    )
    return ChatResponse(
        messages=[
            MessageOut(
                text=r.text,
                buttons=[ButtonOut(title=b.title, payload=b.payload) for b in r.buttons],
            )
            for r in replies
        ],
        language=language,
    )
