"""Run the Alembic migrations from code: `upgrade(url)` at start-up or from the CLI.

The configuration is built here, so no alembic.ini is needed at run time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.db import Database, async_url, is_memory_sqlite

T = TypeVar("T")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "storage:migrations")
    return config


def head() -> str | None:
    """The revision the code expects the database to be at."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def count_between(lower: str | None, upper: str | None) -> int:
    """How many migrations lead from revision `lower` (None: a database never migrated) up to
    `upper`."""
    if upper is None or upper == lower:
        return 0
    script = ScriptDirectory.from_config(alembic_config())
    return len(list(script.iterate_revisions(upper, lower or "base")))


Target = str | URL | Database


async def _with_connection(target: Target, work: Callable[[Connection], T]) -> T:
    if isinstance(target, Database):
        # The application's own engine: the only way to reach an in-memory SQLite database.
        async with target.engine.begin() as connection:
            return await connection.run_sync(work)
    url = async_url(target)
    if is_memory_sqlite(url):
        raise ValueError(
            "an in-memory SQLite database exists only inside its Database: "
            "pass the Database to upgrade_async, not its URL"
        )
    # NullPool: nothing stays connected afterwards (PostgreSQL refuses to copy a template
    # database, or drop one, while a connection is open).
    engine = create_async_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _upgrade_on(revision: str) -> Callable[[Connection], None]:
    def work(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    return work


def _downgrade_on(revision: str) -> Callable[[Connection], None]:
    def work(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    return work


def _current_on(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_async(target: Target, revision: str = "head") -> None:
    """Migrate the database (a URL, or a Database to use its engine) up to `revision`, in
    one transaction where the database allows (PostgreSQL: all or nothing)."""
    await _with_connection(target, _upgrade_on(revision))


async def downgrade_async(target: Target, revision: str) -> None:
    await _with_connection(target, _downgrade_on(revision))


async def current_async(target: Target) -> str | None:
    """The database's revision, or None for a database never migrated."""
    return await _with_connection(target, _current_on)


def _run(url: str | URL, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    if isinstance(url, Database):
        # Its engine belongs to the caller's event loop; this may run in another one.
        raise TypeError("pass a URL here, or await upgrade_async/current_async(database)")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    # Called from async code (a running loop cannot run another to completion): run in a
    # thread with its own loop. This blocks the caller's loop; async callers that must not
    # block should await upgrade_async instead.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="huifang-migrate") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def upgrade(url: str | URL, revision: str = "head") -> None:
    _run(url, lambda: upgrade_async(url, revision))


def downgrade(url: str | URL, revision: str) -> None:
    _run(url, lambda: downgrade_async(url, revision))


def current(url: str | URL) -> str | None:
    return _run(url, lambda: current_async(url))
