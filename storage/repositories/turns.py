"""The statements of one inbound message's turn, in a fixed few round trips.

    claim_and_lock   INSERT the delivery key … ON CONFLICT DO NOTHING, and (PostgreSQL) take the
                     respondent's advisory lock in the same statement
    load             the respondent, their open session, the flows' stamp and, where the turn
                     may need them, ids for a new respondent and a new session: one SELECT
    TurnWrites       what the turn writes (new respondent and identity, new or changed
                     sessions, answers, audit rows, the stored reply), kept in memory and
                     sent by `flush` in one statement on PostgreSQL (data-modifying CTEs fed
                     with arrays), one executemany per table on SQLite

Everything is sent on the driver connection (asyncpg, aiosqlite) of the AsyncSession's own
transaction: an ORM unit of work or even a Core statement through the AsyncSession costs
~0.6 ms of CPU each, the same statement through asyncpg ~0.13 ms (issue 10, measured). The
rows read are turned into ORM objects attached to the session as if loaded, so the
services and event handlers that use the ORM (tickets, opt-outs, campaigns) work unchanged;
`TurnWrites.flush` runs before any of them touches the database.

Ids of new respondents and sessions are taken before their rows are written (nextval on
PostgreSQL; max(id)+1 on SQLite, whose writer lock is held from BEGIN IMMEDIATE), so a new
session is INSERTed once with its final state and audit rows can name it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, event, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.util import await_only

from storage.db import driver_connection
from storage.locks import advisory_key
from storage.models import Respondent, SurveySession
from storage.models.survey_session import ENDED_STATUSES, OPEN_STATUSES, STATUSES
from storage.repositories.answers import RAW_SEPARATOR
from storage.repositories.inbound import check_delivery_key
from storage.repositories.respondents import LANGUAGES

_RESPONDENTS = cast(Table, Respondent.__table__)
_SESSIONS = cast(Table, SurveySession.__table__)


def _json(value: Any) -> str | None:
    # As Database's json_serializer: Chinese stays readable; None is SQL NULL (none_as_null).
    return None if value is None else json.dumps(value, ensure_ascii=False)


@dataclass
class Loaded:
    """What `TurnStore.load` found for one channel identity."""

    respondent: Respondent | None
    session: SurveySession | None  # the respondent's most recent open session
    flows_stamp: int  # the newest flow version's id: the catalog cache is fresh while it holds
    new_respondent_id: int | None  # taken when the identity is unknown
    new_session_id: int | None  # taken when there is no open session


@dataclass
class TurnWrites:
    """The rows one turn writes, kept until `flush`. Values are final: a session started
    in this turn is inserted once with the state it ends the turn in."""

    store: TurnStore
    respondents: list[Respondent] = field(default_factory=list)  # new, with their ids
    identities: list[dict[str, Any]] = field(default_factory=list)
    new_sessions: dict[int, SurveySession] = field(default_factory=dict)
    session_changes: dict[int, dict[str, Any]] = field(default_factory=dict)
    answers: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    audits: list[dict[str, Any]] = field(default_factory=list)
    consents: dict[int, datetime] = field(default_factory=dict)  # respondent id → when
    reply: dict[str, Any] | None = None
    spare_session_id: int | None = None  # taken by `load`, used by the first new session

    def new_respondent(
        self,
        respondent_id: int,
        *,
        category: str,
        lang: str,
        organisation_id: int | None,
        is_test: bool,
        at: datetime,
        channel: str,
        account: str,
        external_id: str,
    ) -> Respondent:
        """A respondent who just wrote to us for the first time (their id taken by `load`),
        with the identity they wrote from; as `RespondentRepository.create` and `add_identity`."""
        if not category or not category.strip():
            raise ValueError("a respondent needs a category code")
        if lang not in LANGUAGES:
            raise ValueError(f"unsupported language {lang!r}: use one of {', '.join(LANGUAGES)}")
        respondent = Respondent(
            id=respondent_id, organisation_id=organisation_id, category=category, name=None, phone=None,
            tags=None, lang=lang, is_test=is_test, consent_at=None, opted_out_at=None, unreachable_at=None,
            unreachable_reason=None, created_at=at, updated_at=at, name_pinyin=None,
        )  # fmt: skip
        self.respondents.append(respondent)
        self.identities.append(
            {
                "respondent_id": respondent.id,
                "channel": channel,
                "account": account,
                "external_id": external_id,
                "created_at": respondent.created_at,
            }
        )
        return respondent

    async def new_session(
        self,
        *,
        respondent_id: int,
        flow_version_id: int,
        state: dict[str, Any],
        status: str,
        now: datetime,
        channel: str | None,
    ) -> SurveySession:
        _check(status, state)
        session_id = self.spare_session_id
        self.spare_session_id = None
        if session_id is None:
            session_id = await self.store.next_session_id(self)
        survey = SurveySession(
            id=session_id,
            respondent_id=respondent_id,
            flow_version_id=flow_version_id,
            status=status,
            state=state,
            started_at=now,
            updated_at=now,
            last_inbound_at=None,
            ended_at=now if status in ENDED_STATUSES else None,
            campaign_id=None,
            channel=channel,
            interviewer=None,
        )
        self.new_sessions[session_id] = survey
        return survey

    def save_session(
        self, survey: SurveySession, *, state: dict[str, Any], status: str, now: datetime, inbound: bool
    ) -> None:
        """As `SessionRepository.save`: the engine's new state, written at the flush."""
        _check(status, state)
        values: dict[str, Any] = {"state": state, "status": status, "updated_at": now}
        if inbound:
            values["last_inbound_at"] = now
        if status in ENDED_STATUSES and survey.ended_at is None:
            values["ended_at"] = now
        if survey.id in self.new_sessions:  # not written yet: its INSERT takes these values
            for key, value in values.items():
                setattr(survey, key, value)
            return
        # Brought up to date without being marked dirty: this is its only write.
        for key, value in values.items():
            set_committed_value(survey, key, value)
        self.session_changes[survey.id] = {
            "id": survey.id, "state": state, "status": status, "updated_at": now,
            "last_inbound_at": survey.last_inbound_at, "ended_at": survey.ended_at,
        }  # fmt: skip

    def add_answer(
        self,
        *,
        session_id: int,
        question_id: str,
        value: Any,
        raw: str | None,
        parsed: bool,
        skipped: bool,
        at: datetime,
    ) -> None:
        """As `AnswerRepository.upsert`: a second answer to the question in the same turn
        replaces the value and appends its words, as the upsert does."""
        key = (session_id, question_id)
        raw = raw or ""
        earlier = self.answers.get(key)
        if earlier is not None and earlier["raw_text"] and raw:
            raw = earlier["raw_text"] + RAW_SEPARATOR + raw
        elif earlier is not None and not raw:
            raw = earlier["raw_text"]
        self.answers[key] = {
            "session_id": session_id,
            "question_id": question_id,
            "value": value,
            "raw_text": raw,
            "parsed": parsed,
            "skipped": skipped,
            "text_kind": earlier["text_kind"] if earlier is not None else None,
            "at": at,
        }

    def record_consent(self, respondent: Respondent, *, at: datetime) -> None:
        """As `RespondentRepository.record_consent`, written with the turn's other rows
        instead of by an ORM flush of the respondent at the commit."""
        if any(r is respondent for r in self.respondents):  # not written yet: its INSERT takes it
            respondent.consent_at = respondent.updated_at = at
            return
        set_committed_value(respondent, "consent_at", at)
        set_committed_value(respondent, "updated_at", at)
        self.consents[respondent.id] = at

    def set_text_kind(self, *, session_id: int, question_id: str, kind: str | None) -> bool:
        """Record a pending answer's kind; False when the answer is not pending here."""
        found = self.answers.get((session_id, question_id))
        if found is None:
            return False
        found["text_kind"] = kind
        return True

    def audit(
        self, *, actor: str, action: str, subject_type: str, subject_id: str | None, data: dict[str, Any], at: datetime
    ) -> None:
        if not actor or not action or not subject_type:
            raise ValueError("an audit entry needs an actor, an action and a subject type")
        self.audits.append(
            {"at": at, "actor": actor, "action": action, "subject_type": subject_type,
             "subject_id": subject_id, "data": data}
        )  # fmt: skip

    def set_reply(self, message_id: int, reply: dict[str, Any], *, respondent_id: int | None, at: datetime) -> None:
        """As `InboundRepository.set_reply`: stored with the delivery for its redeliveries."""
        if not isinstance(reply, dict):
            raise TypeError(f"reply must be a dict, got {type(reply).__name__}")
        self.reply = {"id": message_id, "reply": reply, "respondent_id": respondent_id, "processed_at": at}

    @property
    def pending(self) -> bool:
        return bool(
            self.respondents
            or self.new_sessions
            or self.session_changes
            or self.answers
            or self.audits
            or self.consents
            or self.reply
        )

    async def flush(self) -> None:
        """Write what is pending (one statement on PostgreSQL) and forget it; the new
        respondents and sessions become the session's persistent objects."""
        if not self.pending:
            return
        await self.store.write(self)
        for obj in [*self.respondents, *self.new_sessions.values()]:
            make_transient_to_detached(obj)
            self.store.session.add(obj)
        self.respondents, self.identities = [], []
        self.new_sessions, self.session_changes = {}, {}
        self.answers, self.audits, self.consents, self.reply = {}, [], {}, None


def _check(status: str, state: Any) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown session status {status!r}: use one of {', '.join(STATUSES)}")
    if not isinstance(state, dict):
        raise TypeError(f"session state must be a dict, got {type(state).__name__}")


_WRITES = "huifang.turn_writes"  # Session.info key of the turn's pending writes


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    _write_pending(state.session)


@event.listens_for(Session, "before_flush")
def _before_orm_flush(session: Session, _context: Any, _instances: Any) -> None:
    _write_pending(session)


def _write_pending(session: Session) -> None:
    """Whatever else reads or writes through the turn's session (a ticket opened by a
    handler, a service's query) first sees the turn's pending rows written. Runs inside
    SQLAlchemy's greenlet, where awaiting the driver is allowed."""
    writes: TurnWrites | None = session.info.get(_WRITES)
    if writes is not None and writes.pending:
        await_only(writes.flush())


class TurnStore:
    """The hot path's statements on one AsyncSession's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.dialect: Dialect = session.get_bind().dialect
        self.postgres = self.dialect.name == "postgresql"
        self._conn: Any = None

    async def _driver(self) -> Any:
        if self._conn is None:
            self._conn = await driver_connection(self.session)
        return self._conn

    async def writes(self) -> TurnWrites:
        """The turn's pending writes, written before anything else uses the session."""
        await self._driver()  # taken now: a flush from inside an ORM event cannot begin it
        writes = TurnWrites(self)
        self.session.sync_session.info[_WRITES] = writes
        return writes

    async def claim_and_lock(
        self,
        *,
        delivery_key: str,
        channel: str,
        account: str,
        external_id: str,
        kind: str,
        text: str | None,
        at: datetime,
        platform_at: datetime | None,
        lock_name: str,
    ) -> int | None:
        """Record the delivery and hold the respondent's lock until the transaction ends;
        the delivery's id, or None for a redelivery (then no lock is taken). See
        `InboundRepository.claim` for what a concurrent claim of the same key does.

        SQLite: no lock to take; `Database.transaction()` lets one transaction run at a
        time and BEGIN IMMEDIATE keeps other processes out (storage/locks.py)."""
        check_delivery_key(delivery_key)
        conn = await self._driver()
        if self.postgres:
            return cast(
                int | None,
                await conn.fetchval(
                    _PG_CLAIM, delivery_key, channel, account, external_id, kind, text, at, platform_at,
                    advisory_key(lock_name),
                ),
            )  # fmt: skip
        dt = _sqlite_datetime(self.dialect)
        row = _on_sqlite(
            conn,
            _fetchone,
            _SQLITE_CLAIM,
            (delivery_key, channel, account, external_id, kind, text, dt(at), dt(platform_at)),
        )
        return None if row is None else int(row[0])

    async def load(self, channel: str, account: str, external_id: str) -> Loaded:
        conn = await self._driver()
        if self.postgres:
            row = await conn.fetchrow(_PG_LOAD, channel, account, external_id, list(OPEN_STATUSES))
        else:
            row = _on_sqlite(conn, _fetchone, _SQLITE_LOAD, (channel, account, external_id, *OPEN_STATUSES))
        assert row is not None  # the query always returns its one row
        values = list(row)
        respondent = self._attach(Respondent, _RESPONDENTS, values[: len(_RESPONDENTS.c)])
        values = values[len(_RESPONDENTS.c) :]
        survey = self._attach(SurveySession, _SESSIONS, values[: len(_SESSIONS.c)])
        stamp, new_respondent_id, new_session_id = values[len(_SESSIONS.c) :]
        return Loaded(respondent, survey, int(stamp or 0), new_respondent_id, new_session_id)

    def _attach(self, entity: Any, table: Table, values: list[Any]) -> Any:
        """An ORM object for a row read here, persistent in the session as if it had loaded it."""
        if values[0] is None:  # the id: no such row
            return None
        known = self.session.identity_map.get(inspect(entity).identity_key_from_primary_key((values[0],)))
        if known is not None:  # loaded earlier in this transaction (a QR code's binding)
            return known
        processors = _result_processors(self.dialect, table)
        # Filled in place as a query's rows are (no attribute events: ~3x cheaper than the
        # constructor), then made persistent with those values as the loaded state.
        obj = entity._sa_class_manager.new_instance()
        obj.__dict__.update(
            (c.key, p(v) if p is not None else v) for c, p, v in zip(table.c, processors, values, strict=True)
        )
        make_transient_to_detached(obj)
        self.session.add(obj)
        return obj

    async def next_session_id(self, writes: TurnWrites) -> int:
        """An id for a second new session in one turn (the first took `load`'s)."""
        conn = await self._driver()
        if self.postgres:
            return int(await conn.fetchval("SELECT nextval(pg_get_serial_sequence('survey_sessions', 'id'))"))
        row = _on_sqlite(conn, _fetchone, "SELECT coalesce(max(id), 0) + 1 FROM survey_sessions", ())
        assert row is not None
        return max([int(row[0]), *(i + 1 for i in writes.new_sessions)])

    async def write(self, w: TurnWrites) -> None:
        conn = await self._driver()
        if self.postgres:
            await conn.execute(_PG_WRITE, *_pg_arguments(w))
            return
        _on_sqlite(conn, _execute_all, [(q, rows) for q, rows in _sqlite_rows(self.dialect, w) if rows])


# --- PostgreSQL ------------------------------------------------------------------------------


def _columns(table: Table, alias: str) -> str:
    return ", ".join(f"{alias}.{c.name}" for c in table.c)


_PG_CLAIM = """
WITH claimed AS (
    INSERT INTO inbound_messages (delivery_key, channel, account, external_id, kind, text, received_at, platform_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (delivery_key) DO NOTHING
    RETURNING id
)
SELECT id, pg_advisory_xact_lock($9)::text FROM claimed
"""

# A separate statement from the claim: in READ COMMITTED each statement sees the data as of
# its start, and this one must start after the lock was granted.
_OPEN_SESSION = """(
    SELECT o.id FROM survey_sessions o
    WHERE o.respondent_id = r.id AND o.status {open}
    ORDER BY o.started_at DESC, o.id DESC LIMIT 1
)"""
_PG_LOAD = f"""
SELECT {_columns(_RESPONDENTS, "r")}, {_columns(_SESSIONS, "s")},
    (SELECT max(id) FROM flow_versions),
    CASE WHEN r.id IS NULL THEN nextval(pg_get_serial_sequence('respondents', 'id')) END,
    CASE WHEN s.id IS NULL THEN nextval(pg_get_serial_sequence('survey_sessions', 'id')) END
FROM (SELECT 1) AS one
LEFT JOIN channel_identities i ON i.channel = $1 AND i.account = $2 AND i.external_id = $3
LEFT JOIN respondents r ON r.id = i.respondent_id
LEFT JOIN survey_sessions s ON s.id = {_OPEN_SESSION.format(open="= ANY($4::text[])")}
"""

# Everything a turn writes, in one statement. Each part is fed by arrays (empty when the
# part has nothing to write), so this is one statement text, prepared once per connection.
# The foreign keys are checked at the end of the statement, when every part is written.
_PG_WRITE = """
WITH
new_respondents AS (
    INSERT INTO respondents (id, organisation_id, category, name, phone, tags, lang, is_test,
        consent_at, opted_out_at, unreachable_at, unreachable_reason, created_at, updated_at)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]::jsonb[],
        $7::text[], $8::boolean[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::text[],
        $13::timestamptz[], $14::timestamptz[])
),
new_identities AS (
    INSERT INTO channel_identities (respondent_id, channel, account, external_id, created_at)
    SELECT * FROM unnest($15::bigint[], $16::text[], $17::text[], $18::text[], $19::timestamptz[])
),
new_sessions AS (
    INSERT INTO survey_sessions (id, respondent_id, flow_version_id, status, state, started_at, updated_at,
        last_inbound_at, ended_at, channel)
    SELECT * FROM unnest($20::bigint[], $21::bigint[], $22::bigint[], $23::text[], $24::text[]::jsonb[],
        $25::timestamptz[], $26::timestamptz[], $27::timestamptz[], $28::timestamptz[], $29::text[])
),
changed_sessions AS (
    UPDATE survey_sessions AS s
    SET state = c.state, status = c.status, updated_at = c.updated_at,
        last_inbound_at = c.last_inbound_at, ended_at = c.ended_at
    FROM unnest($30::bigint[], $31::text[]::jsonb[], $32::text[], $33::timestamptz[], $34::timestamptz[],
        $35::timestamptz[]) AS c(id, state, status, updated_at, last_inbound_at, ended_at)
    WHERE s.id = c.id
),
answered AS (
    INSERT INTO answers AS a (session_id, question_id, value, raw_text, parsed, skipped, text_kind,
        answered_at, updated_at)
    SELECT n.session_id, n.question_id, n.value, n.raw_text, n.parsed, n.skipped, n.text_kind, n.at, n.at
    FROM unnest($36::bigint[], $37::text[], $38::text[]::jsonb[], $39::text[], $40::boolean[], $41::boolean[],
        $42::text[], $43::timestamptz[]) AS n(session_id, question_id, value, raw_text, parsed, skipped, text_kind, at)
    ON CONFLICT (session_id, question_id) DO UPDATE SET
        value = excluded.value, parsed = excluded.parsed, skipped = excluded.skipped,
        updated_at = excluded.updated_at, text_kind = coalesce(excluded.text_kind, a.text_kind),
        raw_text = CASE WHEN excluded.raw_text = '' THEN a.raw_text
                        WHEN a.raw_text = '' THEN excluded.raw_text
                        ELSE a.raw_text || E'\\n' || excluded.raw_text END
),
audited AS (
    INSERT INTO audit_log (at, actor, action, subject_type, subject_id, data)
    SELECT * FROM unnest($44::timestamptz[], $45::text[], $46::text[], $47::text[], $48::text[],
        $49::text[]::jsonb[])
),
consented AS (
    UPDATE respondents AS r SET consent_at = c.at, updated_at = c.at
    FROM unnest($54::bigint[], $55::timestamptz[]) AS c(id, at)
    WHERE r.id = c.id
)
UPDATE inbound_messages SET reply = $50::text::jsonb, respondent_id = $51, processed_at = $52
WHERE id = $53
"""


def _pg_arguments(w: TurnWrites) -> list[Any]:
    r, i, s = w.respondents, w.identities, list(w.new_sessions.values())
    c, a = list(w.session_changes.values()), list(w.answers.values())
    reply = w.reply or {"id": None, "reply": None, "respondent_id": None, "processed_at": None}
    return [
        [x.id for x in r], [x.organisation_id for x in r], [x.category for x in r], [x.name for x in r],
        [x.phone for x in r], [_json(x.tags) for x in r], [x.lang for x in r], [bool(x.is_test) for x in r],
        [x.consent_at for x in r], [x.opted_out_at for x in r], [x.unreachable_at for x in r],
        [x.unreachable_reason for x in r], [x.created_at for x in r], [x.updated_at for x in r],
        [x["respondent_id"] for x in i], [x["channel"] for x in i], [x["account"] for x in i],
        [x["external_id"] for x in i], [x["created_at"] for x in i],
        [x.id for x in s], [x.respondent_id for x in s], [x.flow_version_id for x in s], [x.status for x in s],
        [_json(x.state) for x in s], [x.started_at for x in s], [x.updated_at for x in s],
        [x.last_inbound_at for x in s], [x.ended_at for x in s], [x.channel for x in s],
        [x["id"] for x in c], [_json(x["state"]) for x in c], [x["status"] for x in c],
        [x["updated_at"] for x in c], [x["last_inbound_at"] for x in c], [x["ended_at"] for x in c],
        [x["session_id"] for x in a], [x["question_id"] for x in a], [_json(x["value"]) for x in a],
        [x["raw_text"] for x in a], [x["parsed"] for x in a], [x["skipped"] for x in a],
        [x["text_kind"] for x in a], [x["at"] for x in a],
        [x["at"] for x in w.audits], [x["actor"] for x in w.audits], [x["action"] for x in w.audits],
        [x["subject_type"] for x in w.audits], [x["subject_id"] for x in w.audits],
        [_json(x["data"]) for x in w.audits],
        _json(reply["reply"]), reply["respondent_id"], reply["processed_at"], reply["id"],
        list(w.consents), list(w.consents.values()),
    ]  # fmt: skip


# --- SQLite ----------------------------------------------------------------------------------


def _on_sqlite(conn: Any, fn: Any, *args: Any) -> Any:
    """Run `fn(sqlite3_connection, *args)` at once, on the event loop's thread.

    These statements run after BEGIN IMMEDIATE took the database's write lock, so none of
    them waits for another process; each takes microseconds. Handing them to aiosqlite's
    thread instead costs a wait for the GIL each way (up to the 5 ms switch interval while
    the loop is busy with other requests), all while this turn holds the writer lock that
    every other turn queues behind (storage/db.py opens the connection for use from both
    threads; one transaction uses it at a time)."""
    return fn(conn._conn, *args)


def _fetchone(connection: sqlite3.Connection, statement: str, parameters: tuple[Any, ...]) -> Any:
    cursor = connection.execute(statement, parameters)
    try:
        return cursor.fetchone()
    finally:
        cursor.close()


def _execute_all(connection: sqlite3.Connection, batches: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
    for statement, rows in batches:
        connection.executemany(statement, rows)


_SQLITE_CLAIM = """
INSERT INTO inbound_messages (delivery_key, channel, account, external_id, kind, text, received_at, platform_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (delivery_key) DO NOTHING
RETURNING id
"""

_SQLITE_LOAD = f"""
SELECT {_columns(_RESPONDENTS, "r")}, {_columns(_SESSIONS, "s")},
    (SELECT max(id) FROM flow_versions),
    CASE WHEN r.id IS NULL THEN (SELECT coalesce(max(id), 0) + 1 FROM respondents) END,
    CASE WHEN s.id IS NULL THEN (SELECT coalesce(max(id), 0) + 1 FROM survey_sessions) END
FROM (SELECT 1) AS one
LEFT JOIN channel_identities i ON i.channel = ? AND i.account = ? AND i.external_id = ?
LEFT JOIN respondents r ON r.id = i.respondent_id
LEFT JOIN survey_sessions s ON s.id = {_OPEN_SESSION.format(open=f"IN ({', '.join('?' * len(OPEN_STATUSES))})")}
"""

_SQLITE_RESPONDENT = """
INSERT INTO respondents (id, organisation_id, category, name, phone, tags, lang, is_test, consent_at,
    opted_out_at, unreachable_at, unreachable_reason, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_SQLITE_IDENTITY = """
INSERT INTO channel_identities (respondent_id, channel, account, external_id, created_at) VALUES (?, ?, ?, ?, ?)
"""
_SQLITE_SESSION = """
INSERT INTO survey_sessions (id, respondent_id, flow_version_id, status, state, started_at, updated_at,
    last_inbound_at, ended_at, channel)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_SQLITE_SESSION_CHANGE = """
UPDATE survey_sessions SET state = ?, status = ?, updated_at = ?, last_inbound_at = ?, ended_at = ? WHERE id = ?
"""
_SQLITE_ANSWER = """
INSERT INTO answers AS a (session_id, question_id, value, raw_text, parsed, skipped, text_kind, answered_at,
    updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (session_id, question_id) DO UPDATE SET
    value = excluded.value, parsed = excluded.parsed, skipped = excluded.skipped,
    updated_at = excluded.updated_at, text_kind = coalesce(excluded.text_kind, a.text_kind),
    raw_text = CASE WHEN excluded.raw_text = '' THEN a.raw_text
                    WHEN a.raw_text = '' THEN excluded.raw_text
                    ELSE a.raw_text || char(10) || excluded.raw_text END
"""
_SQLITE_AUDIT = "INSERT INTO audit_log (at, actor, action, subject_type, subject_id, data) VALUES (?, ?, ?, ?, ?, ?)"
_SQLITE_CONSENT = "UPDATE respondents SET consent_at = ?, updated_at = ? WHERE id = ?"
_SQLITE_REPLY = "UPDATE inbound_messages SET reply = ?, respondent_id = ?, processed_at = ? WHERE id = ?"


def _sqlite_rows(dialect: Dialect, w: TurnWrites) -> list[tuple[str, list[tuple[Any, ...]]]]:
    dt = _sqlite_datetime(dialect)
    return [
        (_SQLITE_RESPONDENT, [
            (x.id, x.organisation_id, x.category, x.name, x.phone, _json(x.tags), x.lang, bool(x.is_test),
             dt(x.consent_at), dt(x.opted_out_at), dt(x.unreachable_at), x.unreachable_reason, dt(x.created_at),
             dt(x.updated_at))
            for x in w.respondents
        ]),
        (_SQLITE_IDENTITY, [
            (x["respondent_id"], x["channel"], x["account"], x["external_id"], dt(x["created_at"]))
            for x in w.identities
        ]),
        (_SQLITE_SESSION, [
            (x.id, x.respondent_id, x.flow_version_id, x.status, _json(x.state), dt(x.started_at), dt(x.updated_at),
             dt(x.last_inbound_at), dt(x.ended_at), x.channel)
            for x in w.new_sessions.values()
        ]),
        (_SQLITE_SESSION_CHANGE, [
            (_json(x["state"]), x["status"], dt(x["updated_at"]), dt(x["last_inbound_at"]), dt(x["ended_at"]), x["id"])
            for x in w.session_changes.values()
        ]),
        (_SQLITE_ANSWER, [
            (x["session_id"], x["question_id"], _json(x["value"]), x["raw_text"], x["parsed"], x["skipped"],
             x["text_kind"], dt(x["at"]), dt(x["at"]))
            for x in w.answers.values()
        ]),
        (_SQLITE_AUDIT, [
            (dt(x["at"]), x["actor"], x["action"], x["subject_type"], x["subject_id"], _json(x["data"]))
            for x in w.audits
        ]),
        (_SQLITE_CONSENT, [(dt(at), dt(at), rid) for rid, at in w.consents.items()]),
        (_SQLITE_REPLY, [
            (_json(r["reply"]), r["respondent_id"], dt(r["processed_at"]), r["id"]) for r in [w.reply] if r
        ]),
    ]  # fmt: skip


# --- values as SQLAlchemy would bind and read them ------------------------------------------

_PROCESSORS: dict[tuple[str, str], list[Any]] = {}


def _result_processors(dialect: Dialect, table: Table) -> list[Any]:
    key = (dialect.name, table.name)
    found = _PROCESSORS.get(key)
    if found is None:
        found = _PROCESSORS[key] = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in table.c]
    return found


def _sqlite_datetime(dialect: Dialect) -> Any:
    """UtcDateTime's bind processing on SQLite (UTC, SQLAlchemy's text format), so what is
    written here compares and sorts with what the ORM writes."""
    key = (dialect.name, "datetime")
    found = _PROCESSORS.get(key)
    if found is None:
        found = _PROCESSORS[key] = [_SESSIONS.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)]
    return found[0]
