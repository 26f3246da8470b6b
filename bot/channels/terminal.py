"""`sahay chat`: the same bot in a terminal. A channel without buttons: options are numbered
and a typed number picks one."""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import Callable

from bot.channels.base import Button, InboundMessage, as_numbered_text, pick_numbered_option
from bot.pipeline import Pipeline
from storage import repository as repo

CHANNEL = "terminal"


async def chat(
    pipeline: Pipeline,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> None:
    sender = f"terminal-{getpass.getuser()}"
    offered: tuple[Button, ...] = ()
    write("Sahay — type a message; Ctrl-D to quit.")
    while True:
        try:
            line = await asyncio.to_thread(read, "you> ")
        except EOFError:
            write("")
            return
        if not line.strip():
            continue
        text = pick_numbered_option(line, offered)
        replies = await pipeline.receive(
            InboundMessage(CHANNEL, sender, uuid.uuid4().hex, text[:4096])
        )
        async with pipeline.database.session() as session:
            await repo.mark_sent(session, [r.id for r in replies if r.id is not None])
        hint = pipeline.renderer.text("numbered_hint", replies[-1].language) if replies else ""
        for reply in replies:
            write("sahay> " + as_numbered_text(reply, hint))
            if reply.buttons:
                offered = reply.buttons
