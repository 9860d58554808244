"""What one WeChat message costs the database: a fixed few statements (issue 10), counted
where they leave for the server (asyncpg, SQLite), BEGIN and COMMIT included."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.util import await_only

from bot.channels.base import Inbound
from bot.channels.wechat.route import _keep
from bot.services.flows import prepare
from bot.services.runtime import Runtime
from storage.db import Database
from storage.models import Answer, AuditEntry, InboundMessage, SurveySession

# BEGIN, claim + lock, load, write, COMMIT. SQLite sends each table's rows separately
# (BEGIN IMMEDIATE, claim, load, session, answer, reply, COMMIT; a first contact writes the
# respondent, identity, session, audit row and reply; a consent the session, audit row,
# respondent and reply).
ANSWER = {"postgresql": 5, "sqlite": 7}
FIRST_CONTACT = {"postgresql": 5, "sqlite": 9}
CONSENT = {"postgresql": 5, "sqlite": 8}


class Counter:
    def __init__(self, db: Database) -> None:
        self.sent: list[str] = []

        def on_statement(*args: Any) -> None:
            # Not counted: the busy timeout set around BEGIN IMMEDIATE (storage/db.py), a
            # setting of the connection that reads and writes nothing.
            if args and str(args[0]).startswith("PRAGMA busy_timeout"):
                return
            self.sent.append(str(args[0]) if args else "?")

        @event.listens_for(db.engine.sync_engine, "connect")
        def _count(dbapi_connection: Any, _record: Any) -> None:
            driver = dbapi_connection.driver_connection
            if db.dialect == "postgresql":
                driver.add_query_logger(lambda q: self.sent.append(q.query))  # on the asyncpg connection itself
            else:  # aiosqlite runs the sqlite3 connection in its own thread
                await_only(driver._execute(driver._conn.set_trace_callback, on_statement))

        if db.dialect == "postgresql":
            # SQLAlchemy's statements go through asyncpg prepared statements, which the
            # query logger does not see.
            event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a: self.sent.append(a[2]))

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        start = len(self.sent)
        seen: list[str] = []
        yield seen
        seen.extend(self.sent[start:])


def inbound(openid: str, n: int, kind: str, text: str | None = None, payload: str | None = None) -> Inbound:
    return Inbound(
        channel="wechat", account="main", external_id=openid, kind=kind,  # type: ignore[arg-type]
        delivery_key=f"wechat:main:{openid}:{n}", at=datetime.now(UTC), text=text, start_payload=payload,
    )  # fmt: skip


async def turn(runtime: Runtime, message: Inbound) -> str:
    keep = _keep(asyncio.get_running_loop().time() + 60)  # as the webhook does, in time
    return (await runtime.handle_turn(message, keep=keep)).reply.text


async def test_a_first_contact_and_an_answer_cost_a_fixed_few_statements(db_url: str) -> None:
    db = Database(db_url)
    try:
        counter = Counter(db)  # before the first connection is made
        await prepare(db, migrate=False, publish_defaults=True)
        runtime = Runtime(db)
        # The first message of a process reads the catalog and the flow once.
        assert "您愿意" in await turn(runtime, inbound("o-warm", 1, "start", payload="humanitarian_aid"))

        with counter.counting() as sent:
            assert "您愿意" in await turn(runtime, inbound("o-1", 1, "start", payload="humanitarian_aid"))
        assert len(sent) <= FIRST_CONTACT[db.dialect], sent
        with counter.counting() as sent:  # consent: recorded on the respondent in the same write
            assert "总体评价" in await turn(runtime, inbound("o-1", 2, "text", "好的"))
        assert len(sent) <= CONSENT[db.dialect], sent
        with counter.counting() as sent:
            assert "最主要的问题" in await turn(runtime, inbound("o-1", 3, "text", "非常好"))
        assert len(sent) <= ANSWER[db.dialect], sent

        # A redelivery: the stored reply (and whether the outbox already has it), nothing written.
        with counter.counting() as sent:
            assert "最主要的问题" in await turn(runtime, inbound("o-1", 3, "text", "非常好"))
        assert len(sent) <= 5, sent
        async with db.transaction() as s:
            assert await s.scalar(select(func.count()).select_from(InboundMessage)) == 4
            sessions = select(SurveySession).where(SurveySession.channel == "wechat").order_by(SurveySession.id)
            [survey] = (await s.scalars(sessions)).all()[1:]  # the first is the warm-up follower's
            assert survey.status == "active" and survey.last_inbound_at is not None
            [answer] = (await s.scalars(select(Answer).where(Answer.session_id == survey.id))).all()
            assert (answer.question_id, answer.value, answer.raw_text) == ("overall", "very_good", "非常好")
            started = await s.scalars(select(AuditEntry).where(AuditEntry.subject_id == str(survey.id)))
            assert [e.action for e in started] == ["survey_started", "consent_given"]
    finally:
        await db.dispose()
