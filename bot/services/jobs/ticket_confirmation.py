"""The closed loop's due jobs, one ticket resolution (a "round") each:

- `ticket_confirmation`: ask the respondent in their channel whether the problem is
  solved — the follow-up flow (flows/followups/ticket_confirmation.yaml) started as a
  session of its own, its first message queued for their latest channel identity. Someone
  in the middle of another survey is asked after it ends (looked at again a little later).
  Someone who opted out or cannot be reached is not asked: the ticket's history says so,
  and it is left unconfirmed when the time to answer has passed.
- `ticket_confirmation_reminder`: no answer after `tickets.confirm_after`: the question
  once more.
- `ticket_confirmation_timeout`: still no answer after as long again: the session ends and
  the ticket is left unconfirmed (or, when they said "solved"/"not yet" but not the rest,
  it is moved as they said).

Idempotent as due jobs must be: each looks at the ticket again and acts only while it is
still resolved in the same round; messages and jobs carry dedup keys.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.sender import refusal
from bot.services import respondents, surveys, tickets
from bot.services.handlers.followup_completed import apply_outcome
from bot.services.jobs.context import JobContext
from bot.services.outbound import queue_message
from bot.services.ticket_followup import ASK, FLOW_ID, REMIND, TIMEOUT, about, excerpt, job_key, ticket_of
from flows import engine
from storage.models import DueJob, Respondent, SurveySession, Ticket
from storage.models.survey_session import OPEN_STATUSES
from storage.repositories.due_jobs import DueJobRepository
from storage.repositories.flows import FlowRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from storage.repositories.tickets import TicketRepository

log = logging.getLogger(__name__)

ACTOR = tickets.SYSTEM
WAIT_FOR_SURVEY = timedelta(minutes=30)  # someone mid-survey is asked after it ends
WAIT_FOR_TURN = timedelta(minutes=1)  # a message of theirs is being handled right now
_REMINDER = {"zh": "提醒一下：", "en": "A gentle reminder: "}


async def _current(s: AsyncSession, job: DueJob) -> tuple[Ticket, Respondent, int] | None:
    """The ticket and its respondent while it still waits for this round's answer."""
    ticket_id, round_ = int(job.payload["ticket_id"]), int(job.payload["round"])
    ticket = await TicketRepository(s).lock(ticket_id)
    if ticket is None or ticket.status != "resolved" or ticket.reopen_count != round_:
        return None  # answered, moved on by staff, or resolved again (a later round asks)
    respondent = await RespondentRepository(s).get(ticket.respondent_id)
    if respondent is None:
        return None
    return ticket, respondent, round_


async def _later(s: AsyncSession, job: DueJob, ctx: JobContext, after: timedelta) -> None:
    """This job again, `after` from now (a new row: this one is done)."""
    wait = int(job.payload.get("wait", 0)) + 1
    payload = {**job.payload, "wait": wait}
    key = job_key(job.kind, int(payload["ticket_id"]), int(payload["round"]), wait)
    await DueJobRepository(s).schedule(job.kind, payload, ctx.now + after, dedup_key=key, now=ctx.now)


async def _next(s: AsyncSession, kind: str, ticket: Ticket, round_: int, due_at: datetime, now: datetime,
                **payload: object) -> None:  # fmt: skip
    await DueJobRepository(s).schedule(
        kind, {"ticket_id": ticket.id, "round": round_, **payload}, due_at,
        dedup_key=job_key(kind, ticket.id, round_), now=now,
    )  # fmt: skip


async def _not_asked(s: AsyncSession, ticket: Ticket, round_: int, reason: str, ctx: JobContext) -> None:
    await TicketRepository(s).add_event(
        ticket.id, at=ctx.now, actor=ACTOR, kind="message",
        text="未能询问受访者问题是否解决 the respondent could not be asked whether it is solved",
        data={"confirmation": "not_asked", "delivery": "unreachable", "reason": reason, "round": round_},
    )  # fmt: skip
    # The same time as for someone who never answers: question, reminder, each confirm_after.
    await _next(s, TIMEOUT, ticket, round_, ctx.now + 2 * ctx.config.tickets.confirm_after, ctx.now)


async def ask(s: AsyncSession, job: DueJob, ctx: JobContext) -> None:
    current = await _current(s, job)
    if current is None:
        return
    ticket, respondent, round_ = current
    identity = await tickets.latest_identity(s, respondent)
    why_not = refusal(respondent) or (None if identity is not None else "no channel identity 没有联系渠道")
    if why_not is not None or identity is None:
        await _not_asked(s, ticket, round_, why_not or "", ctx)
        return
    if not await respondents.try_lock_person(s, respondent):
        await _later(s, job, ctx, WAIT_FOR_TURN)
        return
    if await SessionRepository(s).open_for(respondent.id) is not None:
        await _later(s, job, ctx, WAIT_FOR_SURVEY)
        return
    version = await FlowRepository(s).latest(FLOW_ID)
    if version is None:
        raise LookupError(f"the follow-up flow {FLOW_ID!r} is not published")
    flow = await ctx.config.flows.load(FlowRepository(s), version.id)
    # The question ends each with its own "。": a resolution written as a sentence keeps one.
    values = {
        "problem": excerpt(ticket.text).rstrip("。.!！;；,， "),
        "resolution": excerpt(ticket.resolution).rstrip("。.!！;；,， "),
    }
    out = await surveys.start_survey(
        s, respondent, (version.id, flow), now=ctx.now, reason=f"ticket:{ticket.id}", source="ticket",
        tickets=ctx.config.tickets, values=values, about=about(ticket.id, round_),
    )  # fmt: skip
    queued = []
    for index, message in enumerate(out):
        row = await queue_message(
            s, respondent=respondent, channel=identity.channel, account=identity.account,
            external_id=identity.external_id, kind="follow_up", text=message.text, now=ctx.now,
            dedup_key=f"{job_key(ASK, ticket.id, round_)}:{index}",
        )  # fmt: skip
        queued.append(row)
    session = await SessionRepository(s).open_for(respondent.id)
    await TicketRepository(s).add_event(
        ticket.id, at=ctx.now, actor=ACTOR, kind="message", text="\n".join(m.text for m in out),
        data={
            "confirmation": "asked", "delivery": "queued", "outbox_ids": queued, "round": round_,
            "session_id": session.id if session is not None else None,
            "channel": identity.channel, "account": identity.account,
        },
    )  # fmt: skip
    await _next(
        s, REMIND, ticket, round_, ctx.now + ctx.config.tickets.confirm_after, ctx.now,
        session_id=session.id if session is not None else None,
    )  # fmt: skip


async def _session(s: AsyncSession, job: DueJob, ticket: Ticket, round_: int) -> SurveySession | None:
    """The follow-up session this round started, read afresh (under the person's locks)."""
    session_id = job.payload.get("session_id")
    if session_id is None:
        return None
    session = await s.get(SurveySession, int(session_id), populate_existing=True)
    if session is None or ticket_of(session.state) != (ticket.id, round_):
        return None
    return session


async def remind(s: AsyncSession, job: DueJob, ctx: JobContext) -> None:
    current = await _current(s, job)
    if current is None:
        return
    ticket, respondent, round_ = current
    if not await respondents.try_lock_person(s, respondent):
        await _later(s, job, ctx, WAIT_FOR_TURN)
        return
    session = await _session(s, job, ticket, round_)
    identity = await tickets.latest_identity(s, respondent)
    still_open = session is not None and session.status in OPEN_STATUSES
    if session is not None and still_open and identity is not None and refusal(respondent) is None:
        flow = await ctx.config.flows.load(FlowRepository(s), session.flow_version_id)
        lang = session.state.get("lang", respondent.lang)
        for index, message in enumerate(engine.prompt(flow, session.state).messages):
            text = f"{_REMINDER.get(lang, _REMINDER['zh'])}{message.text}" if index == 0 else message.text
            await queue_message(
                s, respondent=respondent, channel=identity.channel, account=identity.account,
                external_id=identity.external_id, kind="follow_up", text=text, now=ctx.now,
                dedup_key=f"{job_key(REMIND, ticket.id, round_)}:{index}",
            )  # fmt: skip
        await TicketRepository(s).add_event(
            ticket.id, at=ctx.now, actor=ACTOR, kind="message", text="已提醒受访者 the respondent was reminded",
            data={"confirmation": "reminded", "delivery": "queued", "round": round_, "session_id": session.id},
        )  # fmt: skip
    # Reminded or not (退订 since, the session over): the rest of the time to answer runs.
    await _next(
        s, TIMEOUT, ticket, round_, ctx.now + ctx.config.tickets.confirm_after, ctx.now,
        session_id=job.payload.get("session_id"),
    )  # fmt: skip


async def timeout(s: AsyncSession, job: DueJob, ctx: JobContext) -> None:
    current = await _current(s, job)
    if current is None:
        return
    ticket, respondent, round_ = current
    if not await respondents.try_lock_person(s, respondent):
        await _later(s, job, ctx, WAIT_FOR_TURN)
        return
    session = await _session(s, job, ticket, round_)
    if session is not None and session.status in OPEN_STATUSES:
        answers = dict(session.state.get("answers", {}))
        await surveys.end_survey(s, respondent, session, now=ctx.now, reason="timeout", actor=ACTOR)
        # They said whether it is solved and stopped before the rest: that answer counts.
        if await apply_outcome(s, ticket_id=ticket.id, round_=round_, respondent=respondent, answers=answers,
                               now=ctx.now, config=ctx.config.tickets) is not None:  # fmt: skip
            return
    await tickets.leave_unconfirmed(s, ticket, by=ACTOR, expected_version=None, now=ctx.now)
