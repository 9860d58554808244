"""Shared fixtures: real databases and Redis, never mocks.

- `db_url`: a fresh, fully migrated database per test, once on SQLite and once on
  PostgreSQL (test ids `[sqlite]` / `[postgresql]`); `pg_url` / `sqlite_url` for one only.
- `db`: a `storage.db.Database` on it, disposed after the test.
- `redis_url`: an emptied Redis database, emptied again after the test.

PostgreSQL is migrated once per test session into a template database; tests get copies
(`CREATE DATABASE … TEMPLATE`), emptied and reused after each test while their schema is
unchanged, dropped otherwise (see _PgDatabases). Database names carry this machine and
process, so helpers running pytest at the same time never touch each other's databases, and
leftovers of killed runs are dropped by the next run. Unreachable PostgreSQL or Redis fails
the test with the reason; it is never skipped.
"""

# The project root is on sys.path through pyproject's `pythonpath = ["."]`, ahead of tests/,
# whose folders mirror the source tree and would otherwise shadow flows/, storage/, bot/.
from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import pytest_asyncio
import redis
from redis.exceptions import RedisError
from sqlalchemy import URL, make_url

from storage import migrate
from storage.db import Database

T = TypeVar("T")

PG_URL = os.environ.get("HUIFANG_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HUIFANG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

_HOST_TAG = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
_PREFIX = f"huifang_{_HOST_TAG}_"
_OURS = re.compile(rf"^{_PREFIX}(?:tpl|t)_(\d+)(?:_[0-9a-f]+)?$")

_pg_timings: list[tuple[float, float]] = []  # (setup ms, teardown ms) per PostgreSQL test


def _in_own_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # Sync fixtures may run while pytest-asyncio owns the main thread's event loop;
    # a private thread and loop keep the two from meeting.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


class _PgAdmin:
    """One connection to the maintenance database, on a background loop, for CREATE/DROP
    DATABASE (which cannot run inside a transaction, hence asyncpg directly)."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="huifang-pg-admin", daemon=True
        )
        self._thread.start()
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self.connection: asyncpg.Connection = self.call(asyncpg.connect(dsn, timeout=5))
        except (TimeoutError, OSError, asyncpg.PostgresError) as error:
            self._stop()
            pytest.fail(
                f"PostgreSQL is unreachable at {url.render_as_string(hide_password=True)} "
                f"({type(error).__name__}: {error}). Start it, or point HUIFANG_TEST_PG_URL "
                "at one (postgresql+asyncpg://user@host:port/maintenance_db).",
                pytrace=False,
            )

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def execute(self, sql: str) -> None:
        self.call(self.connection.execute(sql))

    def database_names(self) -> list[str]:
        rows = self.call(self.connection.fetch("SELECT datname FROM pg_database"))
        return [row["datname"] for row in rows]

    def drop(self, name: str) -> None:
        # FORCE ends connections a test leaked instead of failing the drop (PostgreSQL 13+).
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_leftovers(self) -> None:
        """Drop databases of earlier runs on this machine whose process is gone."""
        for name in self.database_names():
            match = _OURS.match(name)
            if match and not _process_alive(int(match.group(1))):
                self.drop(name)

    def close(self) -> None:
        self.call(self.connection.close())
        self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[_PgAdmin]:
    admin = _PgAdmin(make_url(PG_URL))
    try:
        admin.drop_leftovers()
        yield admin
    finally:
        admin.close()


# One query that changes when anything in the schema changes: tables, columns, defaults,
# indexes, constraints, and the migration revision.
_SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
           || ' ' || coalesce(column_default, '') AS item
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT 'revision ' || version_num FROM alembic_version
) AS schema_items
"""


class _PgDatabases:
    """Migrated, empty databases for tests.

    A copy of the template costs 50–400 ms (CREATE DATABASE syncs every catalog file; slow
    when the disk is busy, measured), so a database is copied once and then reused: after a
    test it is emptied (DELETE, ~10 ms) — but only when its schema still matches the
    template exactly; otherwise (a test that migrated down, say) it is dropped.
    """

    def __init__(self, admin: _PgAdmin, template: URL) -> None:
        self.admin = admin
        self.template = template
        self.free: list[str] = []
        self.made: set[str] = set()
        # Kept open between tests: a new backend's first catalog query costs ~15 ms.
        self.cleaners: dict[str, asyncpg.Connection] = {}
        self.fingerprint, self.tables = admin.call(self._inspect(template.database or ""))

    def _dsn(self, name: str) -> str:
        url = self.admin.url.set(drivername="postgresql", database=name)
        return url.render_as_string(hide_password=False)

    async def _inspect(self, name: str) -> tuple[str, list[str]]:
        conn = await asyncpg.connect(self._dsn(name), timeout=5)
        try:
            fingerprint = await conn.fetchval(_SCHEMA_FINGERPRINT)
            rows = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
            return fingerprint, [row["tablename"] for row in rows]
        finally:
            await conn.close()

    def acquire(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"{_PREFIX}t_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template.database}"')
        self.made.add(name)
        return name

    def release(self, name: str) -> None:
        try:
            reusable = self.admin.call(self._empty_if_unchanged(name))
        except Exception:  # whatever went wrong, a dropped database cannot leak into a test
            reusable = False
        if reusable:
            self.free.append(name)
        else:
            self._drop(name)

    def _drop(self, name: str) -> None:
        cleaner = self.cleaners.pop(name, None)
        if cleaner is not None:
            cleaner.terminate()
        self.admin.drop(name)
        self.made.discard(name)

    async def _empty_if_unchanged(self, name: str) -> bool:
        cleaner = self.cleaners.get(name)
        if cleaner is None:
            cleaner = self.cleaners[name] = await asyncpg.connect(self._dsn(name), timeout=5)
        # A connection the test leaked would hold locks or see the next test's data.
        await cleaner.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        if await cleaner.fetchval(_SCHEMA_FINGERPRINT) != self.fingerprint:
            return False
        # replica role: foreign keys are not checked, so the order of deletes is free.
        # synchronous_commit off: a test database need not survive a power cut.
        await cleaner.execute(
            "BEGIN; SET LOCAL session_replication_role = replica; "
            "SET LOCAL synchronous_commit = off; "
            + "".join(f'DELETE FROM "{table}"; ' for table in self.tables)
            + "SELECT setval(c.oid, 1, false) FROM pg_class c "
            "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace; COMMIT;"
        )
        return True

    def close(self) -> None:
        for name in sorted(self.made):
            self._drop(name)
        self.free.clear()


@pytest.fixture(scope="session")
def pg_databases(pg_admin: _PgAdmin) -> Iterator[_PgDatabases]:
    """Migrates a template database once per test session; hands out copies of it."""
    name = f"{_PREFIX}tpl_{os.getpid()}"
    pg_admin.drop(name)
    pg_admin.execute(f'CREATE DATABASE "{name}"')
    template = pg_admin.url.set(database=name)
    databases: _PgDatabases | None = None
    try:
        pg_admin.call(migrate.upgrade_async(template))
        databases = _PgDatabases(pg_admin, template)
        yield databases
    finally:
        if databases is not None:
            databases.close()
        pg_admin.drop(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test (a file copy is ~1 ms)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "huifang.db"
    _in_own_loop(lambda: migrate.upgrade_async(f"sqlite+aiosqlite:///{path}"))
    return path


def _sqlite_copy(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "huifang.db"
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


@contextmanager
def _pg_copy(request: pytest.FixtureRequest) -> Iterator[str]:
    databases: _PgDatabases = request.getfixturevalue("pg_databases")
    started = time.perf_counter()
    name = databases.acquire()
    acquired = time.perf_counter()
    try:
        yield databases.admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        releasing = time.perf_counter()
        databases.release(name)
        _pg_timings.append(((acquired - started) * 1000, (time.perf_counter() - releasing) * 1000))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh database migrated to head; the test is run once per database."""
    if request.param == "sqlite":
        yield _sqlite_copy(request, tmp_path)
    else:
        with _pg_copy(request) as url:
            yield url


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Like db_url, PostgreSQL only: for what only the server mode has (advisory locks per
    key, SKIP LOCKED with several workers)."""
    with _pg_copy(request) as url:
        yield url


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Like db_url, SQLite only: for what only the embedded mode has."""
    return _sqlite_copy(request, tmp_path)


@pytest_asyncio.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A Database on db_url for a test on the default (function) event loop. Tests on a
    wider loop scope should make their own `Database(db_url)`: an engine's connections
    belong to the loop they were opened on."""
    database = Database(db_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty Redis database (HUIFANG_TEST_REDIS_URL, default db 15), flushed after.

    Synchronous on purpose, so it serves tests on any event-loop scope. A file lock makes
    concurrent pytest runs on this machine take turns with the database, so one run's
    flush cannot wipe another's keys mid-test.
    """
    tag = hashlib.sha1(REDIS_URL.encode()).hexdigest()[:8]
    with open(Path(tempfile.gettempdir()) / f"huifang-test-redis-{tag}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
        try:
            try:
                client.ping()
            except (RedisError, OSError) as error:
                pytest.fail(
                    f"Redis is unreachable at {REDIS_URL} ({type(error).__name__}: {error}). "
                    "Start it, or point HUIFANG_TEST_REDIS_URL at one.",
                    pytrace=False,
                )
            client.flushdb()
            yield REDIS_URL
            client.flushdb()
        finally:
            client.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _pg_timings:
        return
    setups = sorted(t[0] for t in _pg_timings)
    teardowns = sorted(t[1] for t in _pg_timings)
    terminalreporter.write_line(
        f"PostgreSQL test databases ({len(_pg_timings)} tests): setup median "
        f"{setups[len(setups) // 2]:.1f} ms (max {setups[-1]:.0f}), teardown median "
        f"{teardowns[len(teardowns) // 2]:.1f} ms (max {teardowns[-1]:.0f})"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, one per test module that drives pages (tests/browser.py)."""
    from tests.browser import chromium

    with chromium() as b:
        yield b
