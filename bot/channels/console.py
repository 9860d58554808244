"""The console channel: a respondent's conversation in a terminal. For demos and try-outs by
default (channel "console": a test respondent, never counted in reports); with `interview`,
an interviewer entering what a person answered by phone, face to face or on a paper form
(channel "interview": a real respondent, counted like any other)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from itertools import count

from bot.channels.base import Inbound, Reply
from bot.container import open_container
from bot.services.catalog import category_names, surveys_exist
from bot.services.organisations import OrganisationError, organisation_id
from bot.services.respondents import has_open_survey, people_with_phone
from bot.settings import Settings


def _print(reply: Reply) -> None:
    for m in reply.messages:
        print(f"\n回访> {m.text}", flush=True)


INTERVIEW_CHANNEL = "interview"


async def run_console(
    settings: Settings,
    category: str | None,
    lang: str,
    organisation: str | None = None,
    *,
    interview: bool = False,
    phone: str | None = None,
) -> int:
    channel = INTERVIEW_CHANNEL if interview else "console"
    async with open_container(settings) as container:
        runtime = container.runtime
        try:
            org_id = await organisation_id(container.db, organisation) if organisation else None
        except OrganisationError as exc:
            print(exc, file=sys.stderr)
            return 2
        who: int | None = None  # the listed person the interview is about (--phone)
        if phone is not None:
            found = await people_with_phone(container.db, phone, org_id)
            if len(found) != 1:
                print(
                    f"没有手机号为 {phone} 的受访者 no respondent with phone {phone}" if not found else
                    f"手机号 {phone} 对应 {len(found)} 位受访者，请用 --org 指定机构 "
                    f"{len(found)} respondents have phone {phone}: name the organisation with --org",
                    file=sys.stderr,
                )  # fmt: skip
                return 2
            who, name, their_category = found[0]
            category = category or their_category
            print(f"受访者 respondent: {name or '—'} (#{who}), {their_category}")
        if not category:
            print("请用 --category 指定类别 name the category with --category", file=sys.stderr)
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

        # With --phone, this terminal's identity is linked to the listed person first, so the
        # survey is theirs (their call-list entry, their history), as a personal QR code does.
        first = inbound("start", payload=category)
        reply = await runtime.handle(replace(first, bind_respondent=who) if who is not None else first)
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
