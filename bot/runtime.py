"""Joins channels to the flow engine and storage: one inbound message, one transaction.

    claim the delivery key (a redelivery gets the stored reply and records nothing)
    lock the respondent (one message at a time per person, across processes)
    load the open session → engine → apply events → store the reply with the key
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import handlers
from bot.catalog import Catalog, FlowCache
from bot.channels.base import Inbound, OutMessage, Reply
from flows import engine, messages, render
from flows.engine import EngineConfig, Input
from flows.events import Choice, Step
from storage.db import Database
from storage.models import Respondent, SurveySession
from storage.locks import lock_respondent
from storage.repositories.flows import FlowRepository
from storage.repositories.inbound import InboundRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository


# A channel's own step for an inbound message, run inside the runtime's transaction after
# the delivery is claimed and the respondent locked (so a redelivery never runs it again):
# it may prepare the respondent (e.g. bind a QR scene's respondent to this identity) and
# return None to let the survey turn run, or answer the message itself with its messages.
BeforeTurn = Callable[[AsyncSession, Inbound], Awaitable[list[OutMessage] | None]]

# A channel's step after the turn, in the same transaction, with the reply and the respondent
# (None when there is none yet): it may write what must commit with the turn or not at all,
# e.g. the reply's outbox rows, so a committed answer always has its reply kept. Not run for
# a redelivery (the first delivery ran it); if it raises, the whole turn rolls back.
AfterTurn = Callable[[AsyncSession, Inbound, Reply, Any], Awaitable[None]]


class Runtime:
    def __init__(self, db: Database, config: EngineConfig | None = None):
        self.db = db
        self.config = config or engine.DEFAULT_CONFIG
        self.flows = FlowCache()

    async def handle(
        self,
        inbound: Inbound,
        *,
        before_turn: BeforeTurn | None = None,
        after_turn: AfterTurn | None = None,
    ) -> Reply:
        async with self.db.transaction() as s:
            inbox = InboundRepository(s)
            message_id = await inbox.claim(
                delivery_key=inbound.delivery_key,
                channel=inbound.channel,
                account=inbound.account,
                external_id=inbound.external_id,
                kind=inbound.kind,
                text=inbound.text,
                at=inbound.at,
                platform_at=inbound.platform_at,
            )
            if message_id is None:
                return await self._stored_reply(inbox, inbound.delivery_key)
            await lock_respondent(s, f"{inbound.channel}:{inbound.account}:{inbound.external_id}")
            early = await before_turn(s, inbound) if before_turn is not None else None
            if early is None:
                respondent, out = await self._turn(s, inbound)
            else:
                respondent = await RespondentRepository(s).by_identity(
                    inbound.channel, inbound.account, inbound.external_id
                )
                out = early
            reply = Reply(messages=tuple(out))
            await inbox.set_reply(
                message_id,
                _encode(reply),
                respondent_id=respondent.id if respondent is not None else None,
                at=inbound.at,
            )
            if after_turn is not None:
                await after_turn(s, inbound, reply, respondent)
            return reply

    async def _stored_reply(self, inbox: InboundRepository, key: str) -> Reply:
        first = await inbox.get_by_key(key)
        # On PostgreSQL the duplicate's insert waited for the first delivery's commit, so
        # its reply is there; a reply of None means the first one failed before replying.
        return Reply(messages=_decode(first.reply if first is not None else None), duplicate=True)

    async def _turn(self, s: AsyncSession, inbound: Inbound) -> tuple[Respondent | None, list[OutMessage]]:
        people = RespondentRepository(s)
        respondent = await people.by_identity(inbound.channel, inbound.account, inbound.external_id)
        if inbound.kind == "unreachable":
            await self._left(s, respondent, inbound)
            return respondent, []
        if respondent is None:
            return await self._first_contact(s, inbound)
        if respondent.unreachable_at is not None:
            # They wrote to us (followed again, unblocked the bot): they can be reached.
            await people.clear_unreachable(respondent, at=inbound.at)
        if inbound.kind == "start":
            return respondent, await self._start_requested(s, respondent, inbound)
        if respondent.opted_out_at is not None:
            return respondent, []  # 退订 means silence, whatever they send
        open_session = await SessionRepository(s).open_for(respondent.id)
        if open_session is not None:
            kind = "unsupported" if inbound.kind == "unsupported" else "text"
            return respondent, await self._resume(s, respondent, open_session, inbound, Input(inbound.text, kind))
        return respondent, await self._between_surveys(s, respondent, inbound)

    async def _left(self, s: AsyncSession, respondent: Respondent | None, inbound: Inbound) -> None:
        """Unsubscribed or blocked us: nothing more is sent, and the open survey closes."""
        if respondent is None:
            return
        await RespondentRepository(s).mark_unreachable(
            respondent, at=inbound.at, reason=f"{inbound.channel}: unsubscribed"
        )
        open_session = await SessionRepository(s).open_for(respondent.id)
        if open_session is not None:
            await self._end(s, respondent, open_session, inbound, "unreachable")

    async def _first_contact(self, s: AsyncSession, inbound: Inbound) -> tuple[Respondent | None, list[OutMessage]]:
        """Someone we do not know: start the survey they named, or ask which group they are in.

        Nothing is stored about them until they name a group (the inbound log keeps the text).
        """
        catalog = await self.flows.catalog(FlowRepository(s))
        found = catalog.find(inbound.start_payload or (inbound.text if inbound.kind != "start" else None))
        if found is None:
            return None, [_category_menu(catalog, inbound.lang or "zh")]
        people = RespondentRepository(s)
        respondent = await people.create(category=found[1].category.code, lang=inbound.lang or "zh")
        await people.add_identity(
            respondent, channel=inbound.channel, account=inbound.account, external_id=inbound.external_id
        )
        return respondent, await self._start(s, respondent, found, inbound)

    async def _start_requested(self, s: AsyncSession, respondent: Respondent, inbound: Inbound) -> list[OutMessage]:
        """A scan, subscribe, deep link or menu key: an explicit wish to take a survey."""
        if respondent.opted_out_at is not None:
            await RespondentRepository(s).clear_opt_out(respondent, at=inbound.at)
        catalog = await self.flows.catalog(FlowRepository(s))
        chosen = catalog.find(inbound.start_payload) if inbound.start_payload else None
        open_session = await SessionRepository(s).open_for(respondent.id)
        if open_session is not None and (chosen is None or chosen[1].category.code == respondent.category):
            return await self._resume(s, respondent, open_session, inbound, Input(None))
        chosen = chosen or catalog.find(respondent.category)
        if chosen is None:
            return [_category_menu(catalog, respondent.lang)]
        if open_session is not None:
            await self._end(s, respondent, open_session, inbound, "replaced")
        respondent.category = chosen[1].category.code
        return await self._start(s, respondent, chosen, inbound)

    async def _between_surveys(self, s: AsyncSession, respondent: Respondent, inbound: Inbound) -> list[OutMessage]:
        """No survey open: a known respondent who never had one begins; others are thanked."""
        found = (await self.flows.catalog(FlowRepository(s))).find(respondent.category)
        if found is None or await SessionRepository(s).has_any(respondent.id):
            return [OutMessage(messages.text(None, "already_done", respondent.lang))]
        return await self._start(s, respondent, found, inbound)

    async def _start(self, s: AsyncSession, respondent: Respondent, found: tuple[int, Any], inbound: Inbound) -> list[OutMessage]:
        version_id, flow = found
        step = engine.start(flow, {"lang": respondent.lang, "source": inbound.channel}, inbound.at)
        session = await SessionRepository(s).create(
            respondent_id=respondent.id,
            flow_version_id=version_id,
            state=step.state,
            status=step.state["lifecycle"],
            now=inbound.at,
        )
        return await self._apply(s, respondent, session, step, inbound)

    async def _resume(self, s: AsyncSession, respondent: Respondent, session: SurveySession, inbound: Inbound, message: Input) -> list[OutMessage]:
        flow = await self.flows.load(FlowRepository(s), session.flow_version_id)
        if inbound.kind == "start":
            # A start event (subscribe, scan, menu) in the middle of a survey: ask again.
            step = engine.prompt(flow, session.state)
        else:
            step = engine.resume(flow, session.state, message, inbound.at, self.config)
        out = await self._apply(s, respondent, session, step, inbound)
        if step.state["lifecycle"] == "expired":
            found = (session.flow_version_id, flow)
            latest = await FlowRepository(s).latest_for_category(flow.category.code)
            if latest is not None:
                found = (latest.id, self.flows.get(latest.id, latest.definition))
            out += await self._start(s, respondent, found, inbound)
        return out

    async def _apply(self, s: AsyncSession, respondent: Respondent, session: SurveySession, step: Step, inbound: Inbound) -> list[OutMessage]:
        ctx = handlers.Context(
            db=s, respondent=respondent, session_id=session.id, now=inbound.at, actor=f"respondent:{respondent.id}"
        )
        await handlers.apply(ctx, step.events)
        await SessionRepository(s).save(
            session, state=step.state, status=step.state["lifecycle"], now=inbound.at, inbound=True
        )
        return ctx.out

    async def _end(self, s: AsyncSession, respondent: Respondent, session: SurveySession, inbound: Inbound, reason: str) -> None:
        step = engine.expire(session.state, reason)
        await self._apply(s, respondent, session, step, inbound)


def _category_menu(catalog: Catalog, lang: str) -> OutMessage:
    q = catalog.question
    msg = render.question_message(None, q, lang)  # type: ignore[arg-type]
    return OutMessage(text=msg.text, choices=msg.choices)


def _encode(reply: Reply) -> dict[str, Any]:
    return {"messages": [asdict(m) for m in reply.messages]}


def _decode(data: dict[str, Any] | None) -> tuple[OutMessage, ...]:
    if not data:
        return ()
    return tuple(
        OutMessage(
            text=m["text"],
            choices=tuple(Choice(**c) for c in m.get("choices", ())),
            multiple=m.get("multiple", False),
        )
        for m in data["messages"]
    )
