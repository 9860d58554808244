"""The console channel: a respondent's conversation in a terminal. For demos and try-outs by
default (channel "console": a test respondent, never counted in reports); with `interview`,
an interviewer entering what a person answered by phone, face to face or on a paper form
(channel "interview": a real respondent, counted like any other)."""

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


INTERVIEW_CHANNEL = "interview"


async def run_console(
    settings: Settings, category: str, lang: str, organisation: str | None = None, *, interview: bool = False
) -> int:
    channel = INTERVIEW_CHANNEL if interview else "console"
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
        person = f"{channel}-{uuid.uuid4().hex[:12]}"
        if interview:
            print("代录访谈：此人的回答计入报告。 Recording an interview: this person's answers count in reports.")
        else:
            print("试用：终端里的受访者是测试数据，不计入报告（代录真实访谈请用 --interview）。"
                  " A try-out: not counted in reports (use --interview to record a real interview).")  # fmt: skip
        seq = count(1)

        def inbound(kind: str, text: str | None = None, payload: str | None = None) -> Inbound:
            return Inbound(
                channel=channel, account="local", external_id=person, kind=kind,  # type: ignore[arg-type]
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
            if not await has_open_survey(container.db, channel, "local", person):
                return 0
