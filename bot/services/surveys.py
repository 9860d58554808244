"""Start, advance and end a respondent's survey, with or without a message from them:
staff, campaigns and follow-ups start surveys too (`start_survey`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutMessage
from bot.services import handlers
from bot.services.ticket_config import TicketConfig
from flows import engine
from flows.events import Step
from flows.schema import Flow
from storage.models import Respondent, SurveySession
from storage.repositories.audit import AuditRepository
from storage.repositories.sessions import SessionRepository
from storage.repositories.turns import TurnWrites


async def start_survey(
    s: AsyncSession,
    respondent: Respondent,
    flow: tuple[int, Flow],
    *,
    now: datetime,
    reason: str,
    source: str | None = None,
    tickets: TicketConfig | None = None,
    values: Mapping[str, str] | None = None,
    about: str | None = None,
    writes: TurnWrites | None = None,
    channel: str | None = None,
    interviewer: str | None = None,
    campaign_id: int | None = None,
) -> list[OutMessage]:
    """Open a session of `flow` (version id, parsed flow) for the respondent and return its
    first messages (the greeting and the consent question), to send however the caller
    reaches them. `reason` says who or what started it (e.g. "wechat:start", "staff:12",
    "campaign:3"); it is kept in the audit log. `values` fill a followup flow's
    placeholders; `about` says what the session is about (e.g. "ticket:12:0"), kept in its
    state for the handler that applies the answers. `channel`, `interviewer` (a phone or
    in-person interview: who enters the answers) and `campaign_id` are kept on the session.
    `writes`: an inbound message's turn, which writes the new session once, with its state
    after this first step (a respondent's own message never starts a campaign's session)."""
    version_id, parsed = flow
    trigger = {"lang": respondent.lang, "source": source or reason.split(":")[0], "vars": values, "about": about}
    step = engine.start(parsed, trigger, now)
    data = {"respondent_id": respondent.id, "flow": parsed.id, "flow_version_id": version_id}
    if writes is not None and campaign_id is None and interviewer is None:
        survey = await writes.new_session(
            respondent_id=respondent.id, flow_version_id=version_id, state=step.state,
            status=step.state["lifecycle"], now=now, channel=channel,
        )  # fmt: skip
        writes.audit(
            actor=reason, action="survey_started", subject_type="survey_session",
            subject_id=str(survey.id), data=data, at=now,
        )  # fmt: skip
        return await apply_step(
            s, respondent, survey, step, now=now, inbound=False, flow=parsed, tickets=tickets, writes=writes
        )
    session = await SessionRepository(s).create(
        respondent_id=respondent.id,
        flow_version_id=version_id,
        state=step.state,
        status=step.state["lifecycle"],
        now=now,
        channel=channel,
        interviewer=interviewer,
        campaign_id=campaign_id,
    )
    await AuditRepository(s).record(
        actor=reason,
        action="survey_started",
        subject_type="survey_session",
        subject_id=str(session.id),
        data={**data, **({"campaign_id": campaign_id} if campaign_id is not None else {})},
        at=now,
    )
    return await apply_step(s, respondent, session, step, now=now, inbound=False, flow=parsed, tickets=tickets)


async def apply_step(
    s: AsyncSession,
    respondent: Respondent,
    session: SurveySession,
    step: Step,
    *,
    now: datetime,
    inbound: bool,
    actor: str | None = None,
    flow: Flow | None = None,
    tickets: TicketConfig | None = None,
    writes: TurnWrites | None = None,
) -> list[OutMessage]:
    """Apply the engine's events (one handler each) and save the session's new state.
    `flow` (the session's) lets handlers know question types; `tickets` the SLA defaults;
    `writes` an inbound message's turn, which writes the rows together at its end."""
    ctx = handlers.Context(
        db=s,
        respondent=respondent,
        session_id=session.id,
        now=now,
        actor=actor or f"respondent:{respondent.id}",
        flow=flow,
        tickets=tickets or TicketConfig(),
        state=step.state,
        campaign_id=session.campaign_id,
        channel=session.channel,
        interviewer=session.interviewer,
        writes=writes,
    )
    await handlers.apply(ctx, step.events)
    if writes is not None:
        writes.save_session(session, state=step.state, status=step.state["lifecycle"], now=now, inbound=inbound)
    else:
        await SessionRepository(s).save(
            session, state=step.state, status=step.state["lifecycle"], now=now, inbound=inbound
        )
    return ctx.out


async def end_survey(
    s: AsyncSession,
    respondent: Respondent,
    session: SurveySession,
    *,
    now: datetime,
    reason: str,
    actor: str | None = None,
    writes: TurnWrites | None = None,
) -> list[OutMessage]:
    """Close an open session (replaced, unreachable, expired after long silence…)."""
    step = engine.expire(session.state, reason)
    return await apply_step(s, respondent, session, step, now=now, inbound=False, actor=actor, writes=writes)
