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
    return dialect_insert(dialect_name(session), target)


_STATEMENTS: dict[tuple[str, str], Any] = {}


def prepared(session: AsyncSession, name: str, build: Any) -> Any:
    """A statement built once per dialect and reused with new parameters.

    Hot paths (every inbound message) would otherwise rebuild and re-key the same
    statement each time; SQLAlchemy's construction costs more than its execution there.
    """
    key = (dialect_name(session), name)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build(key[0])
    return statement


def dialect_insert(name: str, target: Any) -> Any:
    if name == "postgresql":
        return postgresql.insert(target)
    if name == "sqlite":
        return sqlite.insert(target)
    raise RuntimeError(f"unsupported database dialect {name!r}")
