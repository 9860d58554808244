"""`huifang respondents import FILE`: a preview by default, stored only with --yes and no
wrong row (or --skip-errors)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import main
from bot.services.flows import prepare
from storage.db import Database
from storage.models import Respondent


@pytest.fixture
def huifang(db_url: str):
    env = {"HUIFANG_DATABASE_URL": db_url, "HUIFANG_AUTO_MIGRATE": "false", "HUIFANG_PUBLISH_DEFAULT_FLOWS": "false"}

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    asyncio.run(_publish(db_url))
    assert run("orgs", "add", "chengdu", "成都市红十字会").exit_code == 0
    assert run("orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu").exit_code == 0
    assert run("orgs", "add", "wuhou", "武侯区红十字会", "--parent", "chengdu").exit_code == 0
    return run


async def _publish(url: str) -> None:
    db = Database(url)
    try:
        await prepare(db, migrate=False, publish_defaults=True)
    finally:
        await db.dispose()


def phones(db_url: str) -> list[str | None]:
    async def read() -> list[str | None]:
        db = Database(db_url)
        try:
            async with db.transaction() as s:
                return list(await s.scalars(select(Respondent.phone).order_by(Respondent.id)))
        finally:
            await db.dispose()

    return asyncio.run(read())


GOOD = "姓名,手机,类别\n张三,13800138000,人道救助\n李四,13900139000,志愿服务\n"


def test_preview_then_yes(huifang, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(GOOD.encode("gbk"))
    shown = huifang("respondents", "import", str(path), "--org", "jinjiang")
    assert shown.exit_code == 0, shown.output
    assert "编码 encoding: gb18030" in shown.output
    assert "新增 new 2" in shown.output and "preview only, nothing stored" in shown.output
    assert phones(db_url) == []
    stored = huifang("respondents", "import", str(path), "--org", "jinjiang", "--yes")
    assert stored.exit_code == 0, stored.output
    assert "已导入 imported: 新增 created 2" in stored.output
    assert phones(db_url) == ["13800138000", "13900139000"]
    again = huifang("respondents", "import", str(path), "--org", "jinjiang", "--yes")
    assert "新增 new 0" in again.output and "无变化 unchanged 2" in again.output
    assert phones(db_url) == ["13800138000", "13900139000"]


def test_a_wrong_row_stores_nothing_unless_skipped(huifang, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(GOOD + "王五,13700137000,厨师\n", encoding="utf-8")
    refused = huifang("respondents", "import", str(path), "--org", "jinjiang", "--yes")
    assert refused.exit_code == 1
    assert "第4行 row 4: 未知的类别 unknown category '厨师'" in refused.stderr
    assert "nothing stored" in refused.stderr
    assert phones(db_url) == []
    skipped = huifang("respondents", "import", str(path), "--org", "jinjiang", "--yes", "--skip-errors")
    assert skipped.exit_code == 0 and "新增 created 2" in skipped.output
    assert phones(db_url) == ["13800138000", "13900139000"]


def test_unreadable_file_and_unknown_org(huifang, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("名字,类别\n张三,志愿\n", encoding="utf-8")
    result = huifang("respondents", "import", str(path))
    assert result.exit_code == 1 and "nothing imported" in result.stderr and "phone or openid column" in result.stderr
    path.write_text(GOOD, encoding="utf-8")
    result = huifang("respondents", "import", str(path), "--org", "nowhere")
    assert result.exit_code == 1 and "unknown organisation: nowhere" in result.stderr


def test_an_import_is_in_the_audit_log_with_its_counts(huifang, db_url: str, tmp_path: Path) -> None:
    from storage.models import AuditEntry

    path = tmp_path / "list.csv"
    path.write_text(GOOD, encoding="utf-8")
    assert huifang("respondents", "import", str(path), "--org", "jinjiang").exit_code == 0  # a preview: no entry
    assert huifang("respondents", "import", str(path), "--org", "jinjiang", "--yes").exit_code == 0

    async def entries() -> list[AuditEntry]:
        db = Database(db_url)
        try:
            async with db.transaction() as s:
                return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "respondents_imported")))
        finally:
            await db.dispose()

    [entry] = asyncio.run(entries())
    assert entry.actor == "cli" and entry.data["organisation"] == "jinjiang"
    assert (entry.data["created"], entry.data["updated"]) == (2, 0)
    assert "13800138000" not in str(entry.data)  # counts, never the people
