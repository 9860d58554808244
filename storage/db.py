"""The database handle: one engine and session factory per process, made in the app lifespan."""

from __future__ import annotations

import asyncio
import json
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


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


class Database:
    """Owns the AsyncEngine and the session factory.

    `async with db.transaction() as session:` is the one way the entry points (HTTP
    dependency, channel handler, worker loop) get a session: commit on success, rollback on
    an exception. Repositories never commit.
    """

    def __init__(self, url: str | URL, **engine_kwargs: Any) -> None:
        self.url = async_url(url)
        self.dialect: Dialect = self.url.get_backend_name()  # type: ignore[assignment]
        if self.dialect == "sqlite" and is_memory_sqlite(self.url):
            # Every connection to :memory: is a new empty database: share one connection.
            engine_kwargs.setdefault("poolclass", StaticPool)
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
            cursor.execute("PRAGMA busy_timeout=30000")
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
        connection.exec_driver_sql("BEGIN IMMEDIATE")
