"""The database handle: one engine and session factory per process, made in the app lifespan."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from sqlalchemy import URL, event, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.util import await_only

Dialect = Literal["sqlite", "postgresql"]


def _readable_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str | URL) -> URL:
    """The URL with the async driver this project uses; refuses databases it does not support.

    `sqlite:///x.db` and `postgresql://…` are accepted as shorthands, because people (and
    other tools' examples) write them that way.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(
            f"unsupported database {backend!r} in {parsed.render_as_string()}: "
            "use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
        )
    return parsed.set(drivername=_ASYNC_DRIVERS[backend])


DEFAULT_POOL_SIZE = 10

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def wants_ssl(url: URL) -> bool:
    """Whether a PostgreSQL connection should try TLS: asyncpg's default, unless the server
    is on this machine (the loopback or a unix socket) and the URL does not ask for it."""
    if "ssl" in url.query or "sslmode" in url.query:
        return url.query.get("ssl", url.query.get("sslmode")) not in ("disable", "false", "0")
    host = url.host or url.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    return not (host is None or host in _LOOPBACK or str(host).startswith("/"))


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


class Database:
    """Owns the AsyncEngine and the session factory.

    `async with db.transaction() as session:` is the one way the entry points (HTTP
    dependency, channel handler, worker loop) get a session: commit on success, rollback on
    an exception. Repositories never commit.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_overflow: int = 0,
        pool_timeout: float = 30,
        **engine_kwargs: Any,
    ) -> None:
        self.url = async_url(url)
        self.dialect: Dialect = self.url.get_backend_name()  # type: ignore[assignment]
        if self.dialect == "sqlite" and is_memory_sqlite(self.url):
            # Every connection to :memory: is a new empty database: share one connection.
            engine_kwargs.setdefault("poolclass", StaticPool)
        if self.dialect == "sqlite":
            # The hot path runs its statements on the event loop's thread, the rest of
            # SQLAlchemy in aiosqlite's (storage/repositories/turns.py); never both at once.
            engine_kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        if self.dialect == "postgresql" and "poolclass" not in engine_kwargs:
            # Sized to the work in flight: a request that finds the pool empty waits for a
            # connection instead of opening one that is closed again when it is returned
            # (a pool of 5 + 10 overflow under 16 requests in flight opened 1,029
            # connections for 2,750 messages, ~12 ms of CPU each; issue 10).
            engine_kwargs.setdefault("pool_size", pool_size)
            engine_kwargs.setdefault("max_overflow", pool_overflow)
            engine_kwargs.setdefault("pool_timeout", pool_timeout)
        if self.dialect == "postgresql":
            connect_args = engine_kwargs.setdefault("connect_args", {})
            if "ssl" not in connect_args and not wants_ssl(self.url):
                # asyncpg's default sslmode "prefer" tries TLS first, also on the loopback
                # or a unix socket, where it protects nothing and costs a handshake.
                connect_args["ssl"] = False
        # Bound parameters are answers, phone numbers, openids and secrets: an SQL error
        # shows the statement only, so it can be logged.
        engine_kwargs.setdefault("hide_parameters", True)
        # Chinese answers stay readable in the database (JSON "谢谢", not "\u8c22\u8c22").
        engine_kwargs.setdefault("json_serializer", _readable_json)
        self.engine: AsyncEngine = create_async_engine(self.url, **engine_kwargs)
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )
        # Embedded mode is one process by design; SQLite allows one writer at a time, so
        # writers queue here instead of failing with "database is locked".
        self._writer_lock: asyncio.Lock | None = None
        # The task holding the writer lock: a nested transaction() in that same task would
        # wait for itself forever, so it is refused with an explanation instead.
        self._writer: asyncio.Task[Any] | None = None
        if self.dialect == "sqlite":
            self._writer_lock = asyncio.Lock()
            _configure_sqlite(self.engine, memory=is_memory_sqlite(self.url))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        if self._writer_lock is None:
            async with self.sessionmaker() as session, session.begin():
                yield session
            return
        task = asyncio.current_task()
        if task is not None and self._writer is task:
            raise RuntimeError(
                "nested db.transaction() on SQLite would wait for itself: "
                "pass the open session down instead"
            )
        async with self._writer_lock:
            self._writer = task
            try:
                async with self.sessionmaker() as session, session.begin():
                    yield session
            finally:
                self._writer = None

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query (for health checks)."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"


async def driver_connection(session: AsyncSession) -> Any:
    """The driver's own connection (asyncpg's, aiosqlite's) under the session, inside the
    session's transaction, for the few statements on the hot path
    (storage/repositories/turns.py) that are worth sending without SQLAlchemy.

    SQLite: the session's connection begins with BEGIN IMMEDIATE (the "begin" hook below).
    PostgreSQL: SQLAlchemy's asyncpg adapter sends BEGIN only before its own first
    statement, so it is started here through the adapter, which then commits or rolls it
    back with the session as usual (a private method of the adapter: covered by
    tests/storage/test_database.py, which checks that a statement sent here is rolled back).
    """
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    if connection.dialect.name == "postgresql" and adapted._transaction is None:
        await adapted._start_transaction()
    return raw.driver_connection


SQLITE_BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(engine: AsyncEngine, *, memory: bool) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module's own transaction handling starts transactions late and breaks
        # SAVEPOINT; turn it off and let the "begin" hook below say BEGIN (SQLAlchemy docs,
        # "Serializable isolation / Savepoints / Transactional DDL").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            # Wait for a writer in another process (the CLI, the worker) instead of failing at
            # once; 30 s, since a loaded 2-core machine was seen to need more than 5.
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not memory:
                # Readers do not block the writer and vice versa; NORMAL is durable under WAL
                # except for the last transactions on power loss, not on a process crash.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: a transaction that read first and then writes, after another process
        # (the CLI) committed, fails at once with "database is locked" (a stale snapshot;
        # busy_timeout does not apply). Taking the write lock at BEGIN waits instead.
        # Every transaction begins here. Tried first on the event loop's thread without
        # waiting: a hand-over to aiosqlite's thread waits for the GIL each way (up to the
        # 5 ms switch interval while the loop is busy), and the next transaction queues behind
        # it. Only when another process holds the lock does the wait go to aiosqlite's thread.
        driver = connection.connection.driver_connection
        if not _begin_immediate_now(driver._conn):
            await_only(driver._execute(_begin_immediate, driver._conn))

    def _do_commit(dbapi_connection: Any) -> None:
        # On the loop's thread for the same reason: COMMIT of a transaction that holds the
        # write lock waits for nobody, and under WAL with synchronous=NORMAL it does not
        # sync (a checkpoint, every 1,000 pages, does).
        raw = dbapi_connection.driver_connection._conn
        if raw.in_transaction:
            raw.execute("COMMIT").close()

    sync_engine.dialect.do_commit = _do_commit  # type: ignore[method-assign]


def _begin_immediate_now(connection: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE if the write lock is free now; False (nothing begun) if it is not."""
    connection.execute("PRAGMA busy_timeout=0").close()
    try:
        connection.execute("BEGIN IMMEDIATE").close()
        return True
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        return False
    finally:
        connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}").close()


def _begin_immediate(connection: Any) -> None:
    connection.execute("BEGIN IMMEDIATE").close()
