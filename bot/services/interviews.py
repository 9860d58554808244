"""Phone and in-person interviews — 电话回访 — in the console: the call list, showing a
number to call (audited), running the flow with the interviewer entering the answers, and
recording a call that led to no interview.

One flow serves chat and phone: a turn here is the chat runtime's turn for a known person
with an open session (bot.services.runtime.Runtime._turn) — the same engine, the same
`surveys.start_survey`/`apply_step` and event handlers, so answers, tickets from complaints
and "人工" requests come out as they would in chat. Only the channel differs: the session
has `channel="phone"` and `interviewer`, and `campaign_id` when a campaign's call list
led to it. A page shown for one state and submitted after another (a double click, two
interviewers) changes nothing: each form carries the state's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, OutMessage, clip_text, storable
from bot.services import requests, surveys
from bot.services.audit import record_admin_action
from bot.services.respondents import lock_person
from bot.services.runtime import Runtime
from bot.services.staff import StaffPrincipal
from bot.services.text_kinds import HUMAN_REQUEST_MAX_CHARS, asks_for_a_person
from bot.services.ticket_views import mask_phone
from flows import engine, render
from flows.engine import Input
from flows.events import MessageSent
from flows.lifecycles import TERMINAL
from flows.schema import Flow
from storage.models import Campaign, CampaignMember, Respondent, SurveySession
from storage.models.call_outcome import OUTCOMES
from storage.repositories.call_list import PHONE, CallListRepository, CallRow
from storage.repositories.flows import FlowRepository
from storage.repositories.organisations import OrganisationRepository, Scope
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository

OUTCOME_NAMES = {
    "no_answer": ("无人接听", "No answer"),
    "wrong_number": ("号码错误", "Wrong number"),
    "refused": ("拒绝访谈", "Refused"),
    "call_back": ("约定回拨", "Call back later"),
}
assert set(OUTCOME_NAMES) == set(OUTCOMES)
MAX_NOTE = 500

NOT_FOUND = "没有这个受访者或不在您的管理范围 no such person to call in your scope"
NO_FLOW = "没有适用于此人类别的问卷 no published flow for this person's category"
NOT_STARTED = "访谈尚未开始或已结束 the interview has not started, or has ended"
EMPTY = "请输入受访者的回答 enter the respondent's answer"
UNSTORABLE = "回答中有无法保存的字符 the answer holds characters that cannot be stored"
STALE = "页面已过期：这一步已被记录，以下为当前问题 the page was out of date: this step was already recorded; the current question is below"  # noqa: E501
OPTED_OUT = "此人已退订，不再联系 this person opted out: no more contact"

_KEY = re.compile(r"([mr])(\d{1,18})")


class InterviewError(Exception):
    """Refused, with a message for people (zh, then en); nothing was changed."""


@dataclass(frozen=True, slots=True)
class CallEntry:
    key: str  # "m<member id>" or "r<respondent id>": the interview's address
    respondent_id: int
    name: str | None
    phone: str | None  # whole only for admins
    category: str
    organisation_name: str | None
    campaign: str | None
    reason: str | None  # why chat could not reach them
    in_progress: bool
    last_outcome: str | None
    last_note: str | None
    last_called_at: datetime | None


@dataclass(frozen=True, slots=True)
class CallList:
    campaign_calls: list[CallEntry]
    campaign_total: int
    others: list[CallEntry]
    others_total: int


@dataclass(frozen=True, slots=True)
class Target:
    key: str
    respondent: Respondent
    member: CampaignMember | None
    campaign: Campaign | None


@dataclass(frozen=True, slots=True)
class InterviewView:
    key: str
    respondent_id: int
    name: str | None
    phone: str | None
    category: str
    campaign: str | None
    reason: str | None
    session_id: int | None
    status: str | None  # the session's lifecycle; None before the interview starts
    messages: list[OutMessage]  # what to read aloud, in order; the last one's choices to click
    fingerprint: str | None
    notice: str | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL


def fingerprint(state: dict) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:24]


# --- the call list ------------------------------------------------------------------------


async def call_list(s: AsyncSession, me: StaffPrincipal, *, limit: int, offset: int = 0) -> CallList:
    repo = CallListRepository(s)
    members, members_total = await repo.campaign_calls(me.scope, limit=limit)
    others, others_total = await repo.people_without_chat(me.scope, limit=limit, offset=offset)
    orgs = {o.id: o.name for o in await OrganisationRepository(s).list(me.scope)}
    return CallList(
        [_entry(r, me, orgs) for r in members], members_total, [_entry(r, me, orgs) for r in others], others_total
    )


async def calls_waiting(s: AsyncSession, scope: Scope) -> int:
    """How many people the call list holds in `scope` (both parts), for the home page."""
    repo = CallListRepository(s)
    _, members = await repo.campaign_calls(scope, limit=0)
    _, others = await repo.people_without_chat(scope, limit=0)
    return members + others


def _entry(row: CallRow, me: StaffPrincipal, orgs: dict[int, str]) -> CallEntry:
    r, m = row.respondent, row.member
    return CallEntry(
        key=f"m{m.id}" if m is not None else f"r{r.id}",
        respondent_id=r.id, name=r.name, phone=r.phone if me.is_admin else mask_phone(r.phone),
        category=r.category, organisation_name=orgs.get(r.organisation_id) if r.organisation_id else None,
        campaign=row.campaign_name,
        reason=(m.reason if m is not None else None) or ("没有微信等聊天渠道 no chat channel" if m is None else None),
        in_progress=row.in_progress, last_outcome=row.last_outcome, last_note=row.last_note,
        last_called_at=row.last_called_at,
    )  # fmt: skip


async def _target(s: AsyncSession, me: StaffPrincipal, key: str) -> Target:
    """The person behind `key`, if in `me`'s scope; InterviewError as if unknown otherwise."""
    found = _KEY.fullmatch(key)
    if found is None:
        raise InterviewError(NOT_FOUND)
    kind, number = found.group(1), int(found.group(2))
    member = campaign = None
    if kind == "m":
        pair = await CallListRepository(s).member(number)
        if pair is None:
            raise InterviewError(NOT_FOUND)
        member, campaign = pair
        respondent_id = member.respondent_id
    else:
        respondent_id = number
    respondent = await RespondentRepository(s).get(respondent_id)
    if respondent is None or respondent.organisation_id is None:
        raise InterviewError(NOT_FOUND)
    org = await OrganisationRepository(s).get(respondent.organisation_id)
    if org is None or not org.path.startswith(me.scope.path):
        raise InterviewError(NOT_FOUND)
    return Target(key, respondent, member, campaign)


async def reveal_number(s: AsyncSession, me: StaffPrincipal, key: str, *, now: datetime) -> str | None:
    """The whole number, to call; recorded in the audit log (who saw whose number)."""
    _can_act(me)
    t = await _target(s, me, key)
    await record_admin_action(
        s, actor=me, action="phone_number_shown", subject_type="respondent", subject_id=t.respondent.id,
        data={"campaign_member": t.member.id if t.member else None},
        now=now,
    )  # fmt: skip
    return t.respondent.phone


def _can_act(me: StaffPrincipal) -> None:
    if not me.can_handle:
        raise InterviewError("您的账号没有这项权限 your account's role does not allow this")


# --- the interview ------------------------------------------------------------------------


async def _flow_for(s: AsyncSession, t: Target, runtime: Runtime) -> tuple[int, Flow]:
    if t.campaign is not None:
        version = await CallListRepository(s).latest_version_of(t.campaign.flow_id)
        if version is None:
            raise InterviewError(NO_FLOW)
        return version, await runtime.flows.load(FlowRepository(s), version)
    found = (await runtime.catalog_for(s, t.respondent.organisation_id)).find(t.respondent.category)
    if found is None:
        raise InterviewError(NO_FLOW)
    return found


async def _open_phone(s: AsyncSession, respondent: Respondent) -> SurveySession | None:
    session = await SessionRepository(s).open_for(respondent.id)
    return session if session is not None and session.channel == PHONE else None


def _said(flow: Flow, state: dict) -> list[OutMessage]:
    """Where the interview stands, as the engine would say it again (pure: nothing stored)."""
    events = engine.prompt(flow, state).events
    return [OutMessage(e.text, e.choices, e.multiple) for e in events if isinstance(e, MessageSent)]


def _view(
    me: StaffPrincipal,
    t: Target,
    session: SurveySession | None,
    messages: list[OutMessage],
    notice: str | None = None,
    *,
    flow: Flow | None = None,
) -> InterviewView:
    r = t.respondent
    if flow is not None and session is not None:
        lang = str(session.state.get("lang", "zh"))
        messages = [replace(m, text=render.for_reading_aloud(flow, m.text, lang)) for m in messages]
    return InterviewView(
        key=t.key, respondent_id=r.id, name=r.name, phone=r.phone if me.is_admin else mask_phone(r.phone),
        category=r.category, campaign=t.campaign.name if t.campaign else None,
        reason=t.member.reason if t.member else None,
        session_id=session.id if session else None, status=session.status if session else None,
        messages=messages, fingerprint=fingerprint(session.state) if session else None, notice=notice,
    )  # fmt: skip


async def interview(s: AsyncSession, me: StaffPrincipal, key: str, *, runtime: Runtime) -> InterviewView:
    """The interview page's state; changes nothing."""
    t = await _target(s, me, key)
    session = await _open_phone(s, t.respondent)
    if session is None:
        return _view(me, t, None, [])
    flow = await runtime.flows.load(FlowRepository(s), session.flow_version_id)
    return _view(me, t, session, _said(flow, session.state), flow=flow)


async def start_interview(
    s: AsyncSession, me: StaffPrincipal, key: str, *, runtime: Runtime, now: datetime
) -> InterviewView:
    """Open a phone session of the person's flow (the campaign's, or their category's), or
    resume the one under way. An open chat session is ended as replaced, as a new start in
    chat would end it."""
    _can_act(me)
    t = await _target(s, me, key)
    await lock_person(s, t.respondent)
    if t.respondent.opted_out_at is not None:
        raise InterviewError(OPTED_OUT)
    session = await _open_phone(s, t.respondent)
    if session is not None:
        flow = await runtime.flows.load(FlowRepository(s), session.flow_version_id)
        return _view(me, t, session, _said(flow, session.state), flow=flow)
    version, flow = await _flow_for(s, t, runtime)
    other = await SessionRepository(s).open_for(t.respondent.id)
    if other is not None:
        await surveys.end_survey(s, t.respondent, other, now=now, reason="replaced", actor=f"staff:{me.username}")
    out = await surveys.start_survey(
        s, t.respondent, (version, flow), now=now, reason=f"staff:{me.username}", source=PHONE,
        tickets=runtime.tickets, channel=PHONE, interviewer=me.name,
        campaign_id=t.campaign.id if t.campaign else None,
    )  # fmt: skip
    session = await _open_phone(s, t.respondent) or await SessionRepository(s).latest_for(t.respondent.id)
    assert session is not None  # just created
    await _follow(s, t, session, me, now)
    return _view(me, t, session, out, flow=flow)


async def answer(
    s: AsyncSession,
    me: StaffPrincipal,
    key: str,
    text: str,
    *,
    seen: str,
    runtime: Runtime,
    now: datetime,
) -> InterviewView:
    """The respondent's answer, as the interviewer entered it, for the question shown with
    fingerprint `seen`: the engine's next step, applied by the same handlers as in chat."""
    _can_act(me)
    t = await _target(s, me, key)
    await lock_person(s, t.respondent)
    session = await _open_phone(s, t.respondent)
    if session is None:
        raise InterviewError(NOT_STARTED)
    flow = await runtime.flows.load(FlowRepository(s), session.flow_version_id)
    if seen != fingerprint(session.state):
        return _view(me, t, session, _said(flow, session.state), notice=STALE, flow=flow)
    text = clip_text(text.strip())
    if not text:
        return _view(me, t, session, _said(flow, session.state), notice=EMPTY, flow=flow)
    if not storable(text):
        return _view(me, t, session, _said(flow, session.state), notice=UNSTORABLE, flow=flow)
    r = t.respondent
    rules = await runtime.detection_rules.get(s, r.organisation_id)
    if len(text) <= 4 * HUMAN_REQUEST_MAX_CHARS and asks_for_a_person(text, rules):
        # As in chat: staff are told, and the question is asked again.
        said = Inbound(
            channel=PHONE, account="console", external_id=f"staff:{me.username}", kind="text",
            delivery_key=f"phone:{session.id}:{fingerprint(session.state)}", at=now, text=text,
        )  # fmt: skip
        out = await requests.human_requested(s, r, said, tickets=runtime.tickets)
        step = engine.prompt(flow, session.state)
    else:
        out = []
        step = engine.resume(flow, session.state, Input(text, "text"), now, runtime.config)
    out += await surveys.apply_step(s, r, session, step, now=now, inbound=True, flow=flow, tickets=runtime.tickets)
    await _follow(s, t, session, me, now)
    return _view(me, t, session, out, flow=flow)


async def _follow(s: AsyncSession, t: Target, session: SurveySession, me: StaffPrincipal, now: datetime) -> None:
    """A campaign member's row names who interviews them and in which session. Its status
    (started, completed, declined) follows the session's events in one place for chat and
    phone alike: bot/services/handlers/campaign_member.py."""
    m = t.member
    if m is None:
        return
    await CallListRepository(s).update_member(m, at=now, interviewer=me.name, session_id=session.id)


# --- a call without an interview ----------------------------------------------------------


async def record_outcome(
    s: AsyncSession,
    me: StaffPrincipal,
    key: str,
    outcome: Literal["no_answer", "wrong_number", "refused", "call_back"] | str,
    *,
    note: str | None,
    now: datetime,
) -> None:
    """A call that led to no interview. A campaign member's status and reason say it
    (refused: declined; otherwise still to reach, with the outcome as reason); a phone
    interview under way ends when the person refuses. Audited."""
    _can_act(me)
    if outcome not in OUTCOMES:
        raise InterviewError(f"未知的结果 unknown outcome: {outcome}")
    note = (note or "").strip()[:MAX_NOTE] or None
    if note is not None and not storable(note):
        raise InterviewError(UNSTORABLE)
    t = await _target(s, me, key)
    await lock_person(s, t.respondent)
    repo = CallListRepository(s)
    await repo.add_outcome(
        respondent_id=t.respondent.id, member_id=t.member.id if t.member else None, outcome=outcome, note=note,
        interviewer=me.name, at=now,
    )  # fmt: skip
    open_phone = await _open_phone(s, t.respondent)
    if outcome == "refused" and open_phone is not None:
        await surveys.end_survey(s, t.respondent, open_phone, now=now, reason="refused", actor=f"staff:{me.username}")
    if t.member is not None:
        zh, en = OUTCOME_NAMES[outcome]
        reason = f"电话 phone: {zh} {en}" + (f" — {note}" if note else "")
        if outcome == "refused":
            status: dict[str, object] = {"status": "declined", "declined_at": now}
        else:
            status = {"status": "unreachable"}
        await repo.update_member(t.member, at=now, reason=reason, interviewer=me.name, **status)
    await record_admin_action(
        s, actor=me, action="call_outcome", subject_type="respondent", subject_id=t.respondent.id,
        data={"outcome": outcome, "campaign_member": t.member.id if t.member else None, "note": note},
        now=now,
    )  # fmt: skip
