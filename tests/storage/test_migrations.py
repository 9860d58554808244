from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage import migrate
from storage.db import Database
from storage.models import Base, Respondent

ROOT = Path(__file__).resolve().parents[2]


async def _diffs(url: str, metadata: sa.MetaData) -> list[Any]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_fixture_database_is_at_head(db_url: str) -> None:
    versions = sorted(p.stem for p in (Path(migrate.__file__).parent / "migrations" / "versions").glob("0*.py"))
    assert migrate.head() == versions[-1]  # the newest migration file is the head
    assert await migrate.current_async(db_url) == migrate.head()


async def test_models_and_migrations_agree(db_url: str) -> None:
    assert await _diffs(db_url, Base.metadata) == []


async def test_comparison_would_notice_a_model_the_migrations_lack(db_url: str) -> None:
    # Guards the test above against comparing nothing.
    metadata = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    sa.Table("campaign_invitations", metadata, sa.Column("id", sa.Integer, primary_key=True))
    metadata.tables["answers"].append_column(sa.Column("note", sa.Text))
    diffs = await _diffs(db_url, metadata)
    assert any(d[0] == "add_table" and d[1].name == "campaign_invitations" for d in diffs)
    assert any(d[0] == "add_column" and d[2] == "answers" and d[3].name == "note" for d in diffs)


async def test_downgrade_removes_everything_and_upgrade_restores_it(db_url: str) -> None:
    await migrate.downgrade_async(db_url, "base")
    assert await migrate.current_async(db_url) is None
    assert await _tables(db_url) <= {"alembic_version"}
    await migrate.upgrade_async(db_url)
    assert await migrate.current_async(db_url) == migrate.head()
    assert set(Base.metadata.tables) <= await _tables(db_url)


async def test_sync_upgrade_works_inside_a_running_loop_and_twice(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    assert migrate.current(url) is None
    migrate.upgrade(url)
    migrate.upgrade(url)  # already at head: nothing to do
    assert migrate.current(url) == migrate.head()


def test_sync_upgrade_outside_a_loop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plain.db'}"  # shorthand URL gets the async driver
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()


async def test_an_in_memory_database_is_migrated_through_its_database() -> None:
    database = Database("sqlite+aiosqlite://")
    try:
        with pytest.raises(ValueError, match="pass the Database"):
            await migrate.upgrade_async("sqlite+aiosqlite://")
        await migrate.upgrade_async(database)
        assert await migrate.current_async(database) == migrate.head()
        async with database.transaction() as s:
            assert await s.scalar(select(func.count()).select_from(Respondent)) == 0
    finally:
        await database.dispose()


def test_alembic_cli_uses_the_shipped_ini(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "HUIFANG_DATABASE_URL": url}
    alembic = [sys.executable, "-m", "alembic", "-c", str(ROOT / "storage" / "alembic.ini")]
    done = subprocess.run(
        [*alembic, "upgrade", "head"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert migrate.current(url) == migrate.head()


async def test_names_stored_before_the_pinyin_column_get_their_keys(db_url: str) -> None:
    await migrate.downgrade_async(db_url, "0010_report_indexes")
    engine = create_async_engine(db_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            for name in ("张三丰", "曾国藩", None):
                await conn.execute(
                    sa.text(
                        "INSERT INTO respondents (category, name, lang, is_test, created_at, updated_at) "
                        "VALUES ('volunteer', :name, 'zh', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"name": name},
                )
        await migrate.upgrade_async(db_url)
        async with engine.connect() as conn:
            keys = dict((await conn.execute(sa.text("SELECT name, name_pinyin FROM respondents"))).all())
    finally:
        await engine.dispose()
    assert keys == {"张三丰": "zhangsanfeng zsf", "曾国藩": "cengguofan cgf zengguofan zgf", None: None}
