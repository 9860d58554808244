"""Joins channels to the flow engine and storage: one inbound message, one transaction.

    claim the delivery key (a redelivery gets the stored reply and records nothing)
    lock the respondent (one message at a time per person, across processes)
    load the open session → engine → apply events → store the reply with the key
    keep the reply in the outbox when the channel asked for it (bot.services.outbound)

On the common path that is BEGIN, three statements and COMMIT (storage/repositories/turns.py):
the claim and the lock in one, the respondent with their open session in one, and what the
turn wrote (new respondent, session, answers, audit rows, the reply) in one; rarer work
(tickets, opt-outs, bindings) goes through the repositories as before, on the same
transaction.

Channels hand over plain data (an `Inbound`, and how to keep the reply); what happens after
the commit (a passive reply, an eager send) is the channel's own code, after `handle_turn`
returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, OutMessage, Reply
from bot.services import requests, surveys
from bot.services.catalog import Catalog, FlowCache
from bot.services.outbound import KeepReply, Kept, keep_reply
from bot.services.text_kinds import HUMAN_REQUEST_MAX_CHARS, RulesCache, asks_for_a_person, classify_text
from bot.services.ticket_config import TicketConfig
from flows import engine, messages, render
from flows.answers.asides import asks_who, only_pleasantries
from flows.commands import Command, detect_command
from flows.detect import says_nothing
from flows.engine import EngineConfig, Input
from flows.events import Choice
from storage.db import Database
from storage.locks import identity_key, respondent_lock_name
from storage.models import Respondent, SurveySession
from storage.repositories.flows import FlowRepository
from storage.repositories.inbound import InboundRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from storage.repositories.turns import Loaded, TurnStore, TurnWrites

# Channels whose respondents are people trying huifang out, never counted in reports.
TEST_CHANNELS = frozenset({"simulator", "console"})


@dataclass(frozen=True, slots=True)
class Turn:
    reply: Reply
    kept: Kept | None = None  # the reply's outbox rows, when the channel asked to keep it


class Runtime:
    def __init__(
        self,
        db: Database,
        config: EngineConfig | None = None,
        flows: FlowCache | None = None,
        tickets: TicketConfig | None = None,
    ):
        self.db = db
        self.config = config or engine.DEFAULT_CONFIG
        self.flows = flows or FlowCache()
        self.tickets = tickets or TicketConfig()
        self.detection_rules = RulesCache()

    async def handle(self, inbound: Inbound, *, keep: KeepReply | None = None) -> Reply:
        return (await self.handle_turn(inbound, keep=keep)).reply

    async def handle_turn(self, inbound: Inbound, *, keep: KeepReply | None = None) -> Turn:
        async with self.db.transaction() as s:
            store = TurnStore(s)
            message_id = await store.claim_and_lock(
                delivery_key=inbound.delivery_key,
                channel=inbound.channel,
                account=inbound.account,
                external_id=inbound.external_id,
                kind=inbound.kind,
                text=inbound.text,
                at=inbound.at,
                platform_at=inbound.platform_at,
                lock_name=respondent_lock_name(identity_key(inbound.channel, inbound.account, inbound.external_id)),
            )
            if message_id is None:
                stored = await self._stored_reply(InboundRepository(s), inbound.delivery_key)
                # The first delivery outlived the budget and its reply went to the outbox:
                # handing it back again now would send it twice.
                in_outbox = (
                    keep is not None
                    and keep.deadline is not None
                    and await OutboxRepository(s).has_key(keep.key(inbound.delivery_key, 0))
                )
                return Turn(stored, Kept() if in_outbox else None)
            turn = _TurnState(await store.writes())
            if inbound.bind_respondent is not None:
                await requests.bind_identity(s, inbound)
            turn.loaded = await store.load(inbound.channel, inbound.account, inbound.external_id)
            turn.writes.spare_session_id = turn.loaded.new_session_id
            respondent, out = await self._turn(s, inbound, turn)
            reply = Reply(messages=tuple(out))
            turn.writes.set_reply(
                message_id,
                _encode(reply),
                respondent_id=respondent.id if respondent is not None else None,
                at=inbound.at,
            )
            kept = await keep_reply(s, inbound, reply, respondent, keep) if keep is not None else None
            await turn.writes.flush()
            return Turn(reply, kept)

    async def _stored_reply(self, inbox: InboundRepository, key: str) -> Reply:
        first = await inbox.get_by_key(key)
        # On PostgreSQL the duplicate's insert waited for the first delivery's commit, so
        # its reply is there; a reply of None means the first one failed before replying.
        return Reply(messages=_decode(first.reply if first is not None else None), duplicate=True)

    async def _turn(
        self, s: AsyncSession, inbound: Inbound, turn: _TurnState
    ) -> tuple[Respondent | None, list[OutMessage]]:
        people = RespondentRepository(s)
        respondent = turn.loaded.respondent
        if inbound.kind == "unreachable":
            await self._left(s, respondent, inbound, turn)
            return respondent, []
        if inbound.wants_human:
            return respondent, await requests.human_requested(s, respondent, inbound, tickets=self.tickets)
        if respondent is None:
            return await self._first_contact(s, inbound, turn)
        if respondent.unreachable_at is not None:
            # They wrote to us (followed again, unblocked the bot): they can be reached.
            await people.clear_unreachable(respondent, at=inbound.at)
        if inbound.kind == "start":
            return respondent, await self._start_requested(s, respondent, inbound, turn)
        if respondent.opted_out_at is not None:
            return respondent, []  # 退订 means silence, whatever they send
        open_session = turn.loaded.session
        if inbound.kind == "text" and await self._asks_for_a_person(s, respondent, inbound.text):
            # "人工", "我要投诉" typed at any point: staff are told, and the survey waits
            # where it was (its question is asked again after the note).
            out = await requests.human_requested(s, respondent, inbound, tickets=self.tickets)
            if open_session is not None:
                out += await self._resume(
                    s, respondent, open_session, replace(inbound, kind="start"), Input(None), turn
                )
            return respondent, out
        if open_session is not None:
            kind: Literal["text", "unsupported"] = "unsupported" if inbound.kind == "unsupported" else "text"
            return respondent, await self._resume(s, respondent, open_session, inbound, Input(inbound.text, kind), turn)
        return respondent, await self._between_surveys(s, respondent, inbound, turn)

    async def _asks_for_a_person(self, s: AsyncSession, respondent: Respondent, text: str | None) -> bool:
        if not text or len(text) > 4 * HUMAN_REQUEST_MAX_CHARS:  # an answer, not a request
            return False
        rules = await self.detection_rules.get(s, respondent.organisation_id)
        return asks_for_a_person(text, rules)

    async def catalog_for(self, s: AsyncSession, organisation_id: int | None, *, stamp: int | None = None) -> Catalog:
        return await self.flows.catalog(FlowRepository(s), organisation_id, stamp=stamp)

    async def _left(self, s: AsyncSession, respondent: Respondent | None, inbound: Inbound, turn: _TurnState) -> None:
        """Unsubscribed or blocked us: nothing more is sent, and the open survey closes."""
        if respondent is None:
            return
        await RespondentRepository(s).mark_unreachable(
            respondent, at=inbound.at, reason=f"{inbound.channel}: unsubscribed"
        )
        open_session = turn.loaded.session
        if open_session is not None:
            await surveys.end_survey(
                s, respondent, open_session, now=inbound.at, reason="unreachable", writes=turn.writes
            )

    async def _first_contact(
        self, s: AsyncSession, inbound: Inbound, turn: _TurnState
    ) -> tuple[Respondent | None, list[OutMessage]]:
        """Someone we do not know: start the survey they named, or ask which group they are in.

        Nothing is stored about them until they name a group (the inbound log keeps the text).
        """
        catalog = await self.catalog_for(s, inbound.organisation_id, stamp=turn.loaded.flows_stamp)
        found = catalog.find(inbound.start_payload or (inbound.text if inbound.kind != "start" else None))
        if found is None:
            return None, [_category_menu(catalog, inbound.lang or "zh")]
        new_id = turn.loaded.new_respondent_id
        assert new_id is not None  # `load` takes one whenever the identity is unknown
        respondent = turn.writes.new_respondent(
            new_id,
            category=found[1].category.code,
            lang=inbound.lang or "zh",
            organisation_id=inbound.organisation_id,
            is_test=inbound.channel in TEST_CHANNELS,
            at=inbound.at,
            channel=inbound.channel,
            account=inbound.account,
            external_id=inbound.external_id,
        )
        return respondent, await self._start(s, respondent, found, inbound, turn)

    async def _start_requested(
        self, s: AsyncSession, respondent: Respondent, inbound: Inbound, turn: _TurnState
    ) -> list[OutMessage]:
        """A scan, subscribe, deep link or menu key: an explicit wish to take a survey."""
        if respondent.opted_out_at is not None:
            await RespondentRepository(s).clear_opt_out(respondent, at=inbound.at)
        catalog = await self.catalog_for(s, respondent.organisation_id, stamp=turn.loaded.flows_stamp)
        chosen = catalog.find(inbound.start_payload) if inbound.start_payload else None
        open_session = turn.loaded.session
        if open_session is not None and (chosen is None or chosen[1].category.code == respondent.category):
            return await self._resume(s, respondent, open_session, inbound, Input(None), turn)
        chosen = chosen or catalog.find(respondent.category)
        if chosen is None:
            return [_category_menu(catalog, respondent.lang)]
        if open_session is not None:
            await surveys.end_survey(s, respondent, open_session, now=inbound.at, reason="replaced", writes=turn.writes)
        respondent.category = chosen[1].category.code
        return await self._start(s, respondent, chosen, inbound, turn)

    async def _between_surveys(
        self, s: AsyncSession, respondent: Respondent, inbound: Inbound, turn: _TurnState
    ) -> list[OutMessage]:
        """No survey open: a known respondent who never had one begins; one whose survey the
        expiry sweep ended is told so and starts afresh, as if their message had ended it
        (see `_resume`); others are thanked, also after a follow-up (a resolved ticket's
        question), which never starts their category's survey again."""
        if inbound.kind == "text" and detect_command(inbound.text or "") is Command.STOP:
            # 退订 with no survey open (after one ended, or before any began): at once, as
            # in a survey after its confirmation; nothing else is sent to them.
            await RespondentRepository(s).opt_out(respondent, at=inbound.at)
            turn.writes.audit(
                actor=f"respondent:{respondent.id}", action="opted_out", subject_type="respondent",
                subject_id=str(respondent.id), data={"channel": inbound.channel, "between_surveys": True},
                at=inbound.at,
            )  # fmt: skip
            return [OutMessage(messages.text(None, "opted_out", respondent.lang))]
        latest = await SessionRepository(s).latest_for(respondent.id)
        stamp = turn.loaded.flows_stamp
        if latest is not None and latest.status == "expired" and latest.state.get("expired_by") == "silence":
            flow = await self.flows.load(FlowRepository(s), latest.flow_version_id)
            if flow.kind != "survey":
                return [OutMessage(messages.text(flow, "already_done", latest.state.get("lang", respondent.lang)))]
            notice = OutMessage(messages.text(flow, "expired", latest.state.get("lang", respondent.lang)))
            found = (await self.catalog_for(s, respondent.organisation_id, stamp=stamp)).find(flow.category.code)
            return [notice, *await self._start(s, respondent, found or (latest.flow_version_id, flow), inbound, turn)]
        found = (await self.catalog_for(s, respondent.organisation_id, stamp=stamp)).find(respondent.category)
        if found is None or latest is not None:
            if inbound.kind == "text" and _says_something(inbound.text):
                # "如有其他问题，请直接留言": what they leave reaches staff.
                rules = await self.detection_rules.get(s, respondent.organisation_id)
                kind, _ = classify_text(inbound.text or "", rules)
                return await requests.message_for_staff(
                    s, respondent, inbound, kind=kind if kind in ("complaint", "help") else "flagged",
                    tickets=self.tickets,
                )  # fmt: skip
            return [OutMessage(messages.text(None, "already_done", respondent.lang))]
        return await self._start(s, respondent, found, inbound, turn)

    async def _start(
        self, s: AsyncSession, respondent: Respondent, found: tuple[int, Any], inbound: Inbound, turn: _TurnState
    ) -> list[OutMessage]:
        return await surveys.start_survey(
            s,
            respondent,
            found,
            now=inbound.at,
            reason=f"{inbound.channel}:{inbound.kind}",
            source=inbound.channel,
            tickets=self.tickets,
            writes=turn.writes,
            channel=inbound.channel,
        )

    async def _resume(
        self,
        s: AsyncSession,
        respondent: Respondent,
        session: SurveySession,
        inbound: Inbound,
        message: Input,
        turn: _TurnState,
    ) -> list[OutMessage]:
        flow = await self.flows.load(FlowRepository(s), session.flow_version_id)
        if inbound.kind == "start":
            # A start event (subscribe, scan, menu) in the middle of a survey: ask again.
            step = engine.prompt(flow, session.state)
        else:
            step = engine.resume(flow, session.state, message, inbound.at, self.config)
        out = await surveys.apply_step(
            s, respondent, session, step, now=inbound.at, inbound=True, flow=flow, tickets=self.tickets,
            writes=turn.writes,
        )  # fmt: skip
        if step.state["lifecycle"] == "expired" and flow.kind == "survey":
            # Long silence ended the old survey: the person starts afresh on the newest flow.
            catalog = await self.catalog_for(s, respondent.organisation_id, stamp=turn.loaded.flows_stamp)
            found = catalog.find(flow.category.code)
            out += await self._start(s, respondent, found or (session.flow_version_id, flow), inbound, turn)
        return out


class _TurnState:
    """One turn's pending writes and what was loaded for it."""

    __slots__ = ("loaded", "writes")

    def __init__(self, writes: TurnWrites) -> None:
        self.writes = writes
        self.loaded = Loaded(None, None, 0, None, None)


def _says_something(text: str | None) -> bool:
    """Words for staff: not a thanks, a greeting, "收到", a WeChat face, a bare "好的" or a
    question back."""
    if not text or not text.strip():
        return False
    return not (says_nothing(text) or only_pleasantries(text) or asks_who(text))


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
