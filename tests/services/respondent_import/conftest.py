"""A small Red Cross world for the import tests: 成都 (city) → 锦江, 武侯 (districts), 锦江 →
春熙路 (grassroots); the bundled flows published (their categories are what a list may name);
锦江 has a WeChat account, 武侯 none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from bot.services.catalog import FlowCache
from bot.services.flows import prepare
from bot.services.organisations import add_organisation
from bot.services.respondent_import import ImportPlan, SourceTable, preview, read_table
from storage.db import Database
from storage.models import WeChatAccount
from storage.repositories.organisations import Scope

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@dataclass
class World:
    db: Database
    flows: FlowCache
    orgs: dict[str, int]
    scopes: dict[str, Scope]

    async def preview(self, table: SourceTable, *, scope: str | None = None, org: str | None = None,
                      account: str | None = None) -> ImportPlan:  # fmt: skip
        async with self.db.transaction() as s:
            return await preview(
                s, table.rows, flows=self.flows, scope=self.scopes[scope] if scope else Scope.everything(),
                default_organisation=org, account=account,
            )  # fmt: skip


@pytest_asyncio.fixture
async def world(db: Database) -> World:
    await prepare(db, migrate=False, publish_defaults=True)
    async with db.transaction() as s:
        made = {}
        made["chengdu"] = await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        made["jinjiang"] = await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=T0)
        made["wuhou"] = await add_organisation(s, code="wuhou", name="武侯区红十字会", parent="chengdu", now=T0)
        made["chunxi"] = await add_organisation(s, code="chunxi", name="春熙路服务站", parent="jinjiang", now=T0)
        s.add(WeChatAccount(name="jinjiang-wx", app_id="wx1", token="t", organisation_id=made["jinjiang"].id,
                            created_at=T0, updated_at=T0))  # fmt: skip
        await s.flush()
        return World(
            db=db, flows=FlowCache(), orgs={c: o.id for c, o in made.items()},
            scopes={c: Scope.of(o) for c, o in made.items()},
        )  # fmt: skip


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def table_of(path: Path, **limits: int) -> SourceTable:
    return read_table(path, **limits)
