from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, make_url, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from storage.db import Database, async_url, driver_connection, wants_ssl
from storage.models import AuditEntry, Base, Organisation, Respondent
from storage.repositories import AuditRepository, OrganisationRepository


async def test_dialect_is_named(db: Database, db_url: str) -> None:
    assert db.dialect == ("sqlite" if db_url.startswith("sqlite") else "postgresql")


async def test_transaction_commits_on_success(db: Database, t0: datetime) -> None:
    async with db.transaction() as s:
        await OrganisationRepository(s).create(code="sh", name="上海市红十字会", at=t0)
    async with db.transaction() as s:
        organisation = await OrganisationRepository(s).by_code("sh")
    assert organisation is not None and organisation.name == "上海市红十字会"


async def test_transaction_rolls_back_on_exception(db: Database, t0: datetime) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as s:
            await OrganisationRepository(s).create(code="sh", name="上海", at=t0)
            raise RuntimeError("boom")
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Organisation)) == 0


async def test_foreign_keys_are_enforced(db: Database, t0: datetime) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(
                Respondent(
                    category="elderly", organisation_id=999, lang="zh", created_at=t0, updated_at=t0
                )
            )
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(Respondent)) == 0


async def test_many_concurrent_writers_all_commit(db: Database, t0: datetime) -> None:
    async def write(n: int) -> None:
        async with db.transaction() as s:
            await AuditRepository(s).record(
                actor="test", action="write", subject_type="n", subject_id=n, at=t0
            )
            await asyncio.sleep(0)  # let the other writers run into this transaction

    await asyncio.gather(*(write(n) for n in range(30)))
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 30


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as s:
        assert (await s.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await s.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_a_sqlite_writer_waits_for_another_process_holding_the_lock_without_freezing_the_loop(
    sqlite_db: Database, sqlite_url: str, t0: datetime
) -> None:
    """Transactions begin on the event loop's thread when the write lock is free; when another
    process (the CLI, the worker) holds it, the wait happens on aiosqlite's thread: the
    transaction goes through once the lock is released, and the loop runs meanwhile."""
    async with sqlite_db.transaction() as s:  # the app's first connection turns on WAL
        await s.execute(text("SELECT 1"))
    other = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO organisations (code, name, created_at) VALUES ('cli', '另一进程', '2026-01-01')")

        async def write() -> None:
            async with sqlite_db.transaction() as s:
                await OrganisationRepository(s).create(code="app", name="应用", at=t0)

        writing = asyncio.create_task(write())
        ticks = 0
        for _ in range(20):  # 1 s: the loop keeps running while the writer waits
            await asyncio.sleep(0.05)
            ticks += 1
        assert ticks == 20 and not writing.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 30)
    finally:
        other.close()
    async with sqlite_db.transaction() as s:
        codes = set(await s.scalars(select(Organisation.code)))
    assert codes == {"cli", "app"}


async def test_nested_transaction_on_sqlite_is_refused_not_deadlocked(sqlite_db: Database) -> None:
    async with sqlite_db.transaction():
        with pytest.raises(RuntimeError, match="nested"):
            async with sqlite_db.transaction():
                pass


async def test_times_are_stored_in_utc_and_read_back_aware(db: Database) -> None:
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 3, 1, 16, 30, tzinfo=shanghai)
    async with db.transaction() as s:
        entry = await AuditRepository(s).record(actor="a", action="b", subject_type="c", at=local)
        entry_id = entry.id
    async with db.transaction() as s:
        stored = await s.get(AuditEntry, entry_id)
        # Ordering by time must follow the instant, whatever zone it was written in.
        later = await AuditRepository(s).record(
            actor="a", action="b", subject_type="c", at=datetime(2026, 3, 1, 8, 31, tzinfo=UTC)
        )
        ordered = list(await s.scalars(select(AuditEntry.id).order_by(AuditEntry.at)))
    assert stored is not None
    assert stored.at == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert stored.at.tzinfo is not None and stored.at.utcoffset() == timedelta(0)
    assert ordered == [entry_id, later.id]


async def test_naive_time_is_refused_and_nothing_written(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with db.transaction() as s:
            await AuditRepository(s).record(
                actor="a", action="b", subject_type="c", at=datetime(2026, 3, 1, 8, 0)
            )
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_url_shorthands_get_the_async_driver() -> None:
    assert async_url("sqlite:///./huifang.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+asyncpg://u@h/db").drivername == "postgresql+asyncpg"


def test_unsupported_database_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        Database("mysql+aiomysql://u@h/db")


async def test_in_memory_sqlite_keeps_its_data_across_transactions(t0: datetime) -> None:
    # One shared connection: each new :memory: connection would be a new empty database.
    database = Database("sqlite+aiosqlite://")
    try:
        async with database.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with database.transaction() as s:
            await OrganisationRepository(s).create(code="x", name="X", at=t0)
        async with database.transaction() as s:
            assert await OrganisationRepository(s).by_code("x") is not None
    finally:
        await database.dispose()


async def test_sql_errors_do_not_show_bound_parameters(db: Database) -> None:
    # Parameters are answers, phone numbers, openids, secrets: a logged SQL error must not
    # carry them. (The statement fails without echoing the value in the database's own text.)
    with pytest.raises(Exception) as raised:
        async with db.transaction() as s:
            await s.execute(text("INSERT INTO no_such_table (phone) VALUES (:phone)"), {"phone": "13800138000"})
    assert "no_such_table" in str(raised.value)
    assert "13800138000" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "tls"),
    [
        ("postgresql+asyncpg://u@127.0.0.1/db", False),
        ("postgresql+asyncpg://u@localhost:5433/db", False),
        ("postgresql+asyncpg://u@/db?host=/var/run/postgresql", False),
        ("postgresql+asyncpg://u@db.example.org/db", True),
        ("postgresql+asyncpg://u@127.0.0.1/db?ssl=require", True),
        ("postgresql+asyncpg://u@db.example.org/db?ssl=disable", False),
    ],
)
def test_tls_is_tried_off_this_machine_or_when_the_url_asks(url: str, tls: bool) -> None:
    assert wants_ssl(make_url(url)) is tls


async def test_a_burst_larger_than_the_pool_waits_for_its_connections_instead_of_opening_more(pg_url: str) -> None:
    db = Database(pg_url, pool_size=3)
    backends: set[int] = set()

    async def one() -> None:
        async with db.transaction() as s:
            backends.add(await s.scalar(text("SELECT pg_backend_pid()")))
            await asyncio.sleep(0.01)

    try:
        for _ in range(3):
            await asyncio.gather(*(one() for _ in range(12)))
    finally:
        await db.dispose()
    assert len(backends) == 3  # the same three connections served all 36 transactions


async def test_statements_sent_on_the_driver_connection_roll_back_with_the_session(db_url: str) -> None:
    """The hot path sends statements on asyncpg's or aiosqlite's own connection
    (storage/repositories/turns.py): they must be inside the session's transaction, or a
    failed turn would leave half its rows and its lock would not be held."""
    db = Database(db_url)
    insert = "INSERT INTO audit_log (at, actor, action, subject_type, data) VALUES ({now}, 'test', 'raw', 'x', '{{}}')"
    try:
        with pytest.raises(RuntimeError, match="undo"):
            async with db.transaction() as s:
                conn = await driver_connection(s)
                if db.dialect == "postgresql":
                    await conn.execute(insert.format(now="now()"))
                else:
                    await (await conn.execute(insert.format(now="datetime('now')"))).close()
                raise RuntimeError("undo")
        async with db.transaction() as s:
            assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 0
    finally:
        await db.dispose()
