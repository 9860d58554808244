"""The console channel: a respondent's conversation in a terminal, for demos."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime
from itertools import count

from bot.channels.base import Inbound, Reply
from bot.services.runtime import Runtime
from bot.services.flows import prepare
from bot.settings import Settings
from storage.db import Database
from storage.repositories.flows import FlowRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository


def _print(reply: Reply) -> None:
    for m in reply.messages:
        print(f"\n回访> {m.text}", flush=True)


async def run_console(settings: Settings, category: str, lang: str) -> int:
    db = Database(settings.database_url)
    try:
        await prepare(
            db,
            migrate=settings.auto_migrate,
            publish_defaults=settings.publish_default_flows,
            extra_dir=settings.extra_flows_dir,
        )
        runtime = Runtime(db, settings.engine)
        async with db.transaction() as s:
            catalog = await runtime.flows.catalog(FlowRepository(s))
        if catalog.find(category) is None:
            names = ", ".join(f"{f.category.code} ({f.category.name.zh})" for _, f in catalog.flows)
            print(f"未知的类别 unknown category: {category}\n可选 choose one of: {names}", file=sys.stderr)
            return 2
        person = f"console-{uuid.uuid4().hex[:12]}"
        seq = count(1)

        def inbound(kind: str, text: str | None = None, payload: str | None = None) -> Inbound:
            return Inbound(
                channel="console", account="local", external_id=person, kind=kind,  # type: ignore[arg-type]
                delivery_key=f"console:{person}:{next(seq)}", at=datetime.now(UTC),
                text=text, start_payload=payload, lang=lang,
            )

        reply = await runtime.handle(inbound("start", payload=category))
        _print(reply)
        while True:
            try:
                line = await asyncio.to_thread(input, "\n您> ")
            except EOFError:
                print()
                return 0
            reply = await runtime.handle(inbound("text", text=line))
            _print(reply)
            if await _finished(runtime, person):
                return 0
    finally:
        await db.dispose()


async def _finished(runtime: Runtime, person: str) -> bool:
    async with runtime.db.transaction() as s:
        r = await RespondentRepository(s).by_identity("console", "local", person)
        return r is not None and await SessionRepository(s).open_for(r.id) is None
