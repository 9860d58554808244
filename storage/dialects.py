"""The few places where SQLite and PostgreSQL need different SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def upsert_insert(session: AsyncSession, target: Any) -> Any:
    """An INSERT that supports `on_conflict_do_nothing/…_do_update` on the session's database.

    Both dialects spell ON CONFLICT the same way in SQLAlchemy, but through different
    classes; the core `insert()` has neither.
    """
    name = dialect_name(session)
    if name == "postgresql":
        return postgresql.insert(target)
    if name == "sqlite":
        return sqlite.insert(target)
    raise RuntimeError(f"unsupported database dialect {name!r}")
