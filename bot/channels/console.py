"""The console channel: a respondent's conversation in a terminal, for demos."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime
from itertools import count

from bot.channels.base import Inbound, Reply
from bot.container import open_container
from bot.services.catalog import category_names, surveys_exist
from bot.services.organisations import OrganisationError, organisation_id
from bot.services.respondents import has_open_survey
from bot.settings import Settings


def _print(reply: Reply) -> None:
    for m in reply.messages:
        print(f"\n回访> {m.text}", flush=True)


async def run_console(settings: Settings, category: str, lang: str, organisation: str | None = None) -> int:
    async with open_container(settings) as container:
        runtime = container.runtime
        try:
            org_id = await organisation_id(container.db, organisation) if organisation else None
        except OrganisationError as exc:
            print(exc, file=sys.stderr)
            return 2
        if not await surveys_exist(container.db, runtime.flows, category, org_id):
            names = ", ".join(
                f"{code} ({name.zh})" for code, name in await category_names(container.db, runtime.flows, org_id)
            )
            print(f"未知的类别 unknown category: {category}\n可选 choose one of: {names}", file=sys.stderr)
            return 2
        person = f"console-{uuid.uuid4().hex[:12]}"
        seq = count(1)

        def inbound(kind: str, text: str | None = None, payload: str | None = None) -> Inbound:
            return Inbound(
                channel="console", account="local", external_id=person, kind=kind,  # type: ignore[arg-type]
                delivery_key=f"console:{person}:{next(seq)}", at=datetime.now(UTC),
                text=text, start_payload=payload, lang=lang, organisation_id=org_id,
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
            if not await has_open_survey(container.db, "console", "local", person):
                return 0
