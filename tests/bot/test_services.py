"""Start-up publishing: bundled flows seed a database once and never replace an admin's edit."""

from __future__ import annotations

from pathlib import Path

from bot.services.flows import prepare, publish_files
from storage.db import Database
from storage.repositories.flows import FlowRepository

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = "您对参加过的红十字志愿服务活动，总体评价怎么样？"
EDITED = "您对今年参加的志愿服务活动，总体评价怎么样？"


async def _versions(db: Database) -> dict[str, list[int]]:
    async with db.transaction() as s:
        repo = FlowRepository(s)
        return {v.flow.code: [x.version for x in await repo.versions(v.flow.code)] for v in await repo.list_latest()}


async def _latest_source(db: Database, code: str) -> str:
    async with db.transaction() as s:
        latest = await FlowRepository(s).latest(code)
        assert latest is not None
        return latest.source


async def test_restarts_keep_an_admins_edit_of_a_default_flow(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    try:
        await prepare(db, migrate=False, publish_defaults=True)
        seeded = await _versions(db)
        # the nine category surveys and the ticket follow-up
        assert len(seeded) == 10 and "ticket_confirmation" in seeded and all(v == [1] for v in seeded.values())
        edited = tmp_path / "volunteer.yaml"
        source = (ROOT / "flows/defaults/volunteer.yaml").read_text(encoding="utf-8")
        assert ORIGINAL in source
        edited.write_text(source.replace(ORIGINAL, EDITED), encoding="utf-8")
        [published] = await publish_files(db, [edited])
        assert (published.flow_id, published.version, published.created) == ("volunteer", 2, True)

        for _ in range(2):  # two restarts of `serve` or `chat`
            await prepare(db, migrate=False, publish_defaults=True)

        assert await _versions(db) == {**seeded, "volunteer": [1, 2]}
        latest = await _latest_source(db, "volunteer")
        assert EDITED in latest and ORIGINAL not in latest
    finally:
        await db.dispose()


async def test_extra_flows_dir_seeds_once_too(db_url: str, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    source = (ROOT / "flows/defaults/volunteer.yaml").read_text(encoding="utf-8")
    (extra / "local.yaml").write_text(
        source.replace("id: volunteer", "id: local_volunteer", 1).replace("code: volunteer", "code: local_volunteer", 1),
        encoding="utf-8",
    )
    db = Database(db_url)
    try:
        await prepare(db, migrate=False, publish_defaults=False, extra_dir=extra)
        assert await _versions(db) == {"local_volunteer": [1]}
        edited = tmp_path / "local.yaml"
        edited.write_text((extra / "local.yaml").read_text(encoding="utf-8").replace(ORIGINAL, EDITED), encoding="utf-8")
        await publish_files(db, [edited])
        await prepare(db, migrate=False, publish_defaults=False, extra_dir=extra)
        assert await _versions(db) == {"local_volunteer": [1, 2]}
        assert EDITED in await _latest_source(db, "local_volunteer")
    finally:
        await db.dispose()
