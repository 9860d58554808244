"""Tickets for the console's tests, opened through the ticket service on conftest's tree
(成都 → 锦江 (→ 春熙路), 武侯), with a respondent, a survey with answers and their messages.

Beside conftest's accounts: 王五 wangwu, staff of 武侯, and 赵六 zhaoliu, staff of 锦江
(a colleague to assign to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.services import tickets
from bot.services.flows import publish_files
from bot.services.staff import create_user
from storage.db import Database
from storage.models import FlowVersion, InboundMessage, Organisation
from storage.repositories.answers import AnswerRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from tests.admin.conftest import PASSWORD, T0

FLOW = Path(__file__).resolve().parents[2] / "flows" / "defaults" / "humanitarian_aid.yaml"
XSS = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Opened:
    ticket_id: int
    respondent_id: int


async def add_colleagues(db: Database) -> None:
    async with db.transaction() as s:
        await create_user(s, username="wangwu", org_code="wuhou", role="staff", name="王五", password=PASSWORD, now=T0)
        await create_user(s, username="zhaoliu", org_code="jinjiang", role="staff", name="赵六", password=PASSWORD, now=T0)


async def open_ticket(
    db: Database,
    org: str,
    text: str,
    *,
    phone: str | None = "13812345678",
    kind: str = "complaint",
    category: str = "humanitarian_aid",
    with_survey: bool = False,
    minutes_ago: int = 0,
) -> Opened:
    """A respondent of `org` (reachable on the console channel) and a ticket with `text`;
    with a survey session answering two questions, the second in `text`."""
    # The app's clock is the real one: ages and due times are measured from now.
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    async with db.transaction() as s:
        organisation_id = await s.scalar(select(Organisation.id).where(Organisation.code == org))
        repo = RespondentRepository(s)
        person = await repo.create(category=category, name="陈阿姨", phone=phone, organisation_id=organisation_id, at=at)
        await repo.add_identity(person, channel="console", account="local", external_id=f"p{person.id}", at=at)
        s.add(InboundMessage(
            delivery_key=f"k{person.id}", channel="console", account="local", external_id=f"p{person.id}",
            respondent_id=person.id, kind="text", text=text, received_at=at,
        ))  # fmt: skip
        session_id = question_id = None
        if with_survey:
            version_id = await s.scalar(select(FlowVersion.id).order_by(FlowVersion.id.desc()).limit(1))
            assert version_id is not None, "publish the flow first (publish_flow)"
            survey = await SessionRepository(s).create(
                respondent_id=person.id, flow_version_id=version_id, state={}, status="active", now=at
            )
            answers = AnswerRepository(s)
            await answers.upsert(session_id=survey.id, question_id="overall", value="dissatisfied", raw="不满意",
                                 parsed=True, skipped=False, at=at)  # fmt: skip
            await answers.upsert(session_id=survey.id, question_id="opinion", value=text, raw=text,
                                 parsed=True, skipped=False, at=at)  # fmt: skip
            session_id, question_id = survey.id, "opinion"
        ticket = await tickets.open_ticket(
            s, respondent=person, kind=kind, text=text, category=category, now=at,
            session_id=session_id, question_id=question_id,
        )  # fmt: skip
        assert ticket is not None
        return Opened(ticket.id, person.id)


async def publish_flow(db: Database) -> None:
    await publish_files(db, [FLOW], now=T0)
