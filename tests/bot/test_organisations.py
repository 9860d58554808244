"""Organisations end to end: the tree and its scopes, flows chosen by organisation, a
respondent joining the organisation of the account they wrote to, and `huifang orgs`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.channels.base import Inbound
from bot.cli import main
from bot.services.flows import prepare, publish_text
from bot.services.organisations import OrganisationError, add_organisation, list_organisations
from bot.services.runtime import Runtime
from flows.loader import default_flow_paths
from storage.db import Database
from storage.repositories.flows import FlowBelongsElsewhere, FlowRepository
from storage.repositories.organisations import OrganisationRepository, Scope
from storage.repositories.respondents import RespondentRepository

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
VOLUNTEER = Path(next(p for p in default_flow_paths() if p.stem == "volunteer"))
DISTRICT_INTRO = "您好！这里是锦江区红十字会志愿服务回访。"


async def tree(db: Database) -> dict[str, int]:
    """成都 (city) → 锦江, 武侯 (districts); 锦江 → 春熙路 (grassroots station)."""
    async with db.transaction() as s:
        city = await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        jinjiang = await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=T0)
        wuhou = await add_organisation(s, code="wuhou", name="武侯区红十字会", parent="chengdu", now=T0)
        station = await add_organisation(s, code="chunxi", name="春熙路街道红十字服务站", parent="jinjiang", now=T0)
        return {o.code: o.id for o in (city, jinjiang, wuhou, station)}


def district_volunteer_flow() -> str:
    """The shared volunteer flow, copied under a new id with its own greeting."""
    text = VOLUNTEER.read_text(encoding="utf-8").replace("id: volunteer\n", "id: volunteer_jinjiang\n", 1)
    start = text.index("intro:")
    end = text.index("consent:")
    return text[:start] + f"intro:\n  zh: {DISTRICT_INTRO}\n  en: Hello from Jinjiang district.\n" + text[end:]


async def test_the_tree_scopes_each_office_to_itself_and_what_is_below(db: Database) -> None:
    ids = await tree(db)
    async with db.transaction() as s:
        repo = OrganisationRepository(s)
        jinjiang = await repo.by_code("jinjiang")
        assert jinjiang is not None and jinjiang.kind == "district"
        station = await repo.by_code("chunxi")
        assert station is not None and station.kind == "grassroots"
        assert [o.code for o in await repo.list(Scope.of(jinjiang))] == ["jinjiang", "chunxi"]
        assert [o.code for o in await repo.chain(station)] == ["chunxi", "jinjiang", "chengdu"]
        people = RespondentRepository(s)
        for code in ("chengdu", "jinjiang", "wuhou", "chunxi"):
            await people.create(category="volunteer", organisation_id=ids[code], at=T0)
        await people.create(category="volunteer", at=T0)  # of no organisation
        seen = {p.organisation_id for p in await people.in_scope(Scope.of(jinjiang))}
        assert seen == {ids["jinjiang"], ids["chunxi"]}  # not the city's, not 武侯's
        assert len(await people.in_scope(Scope.everything())) == 5
        # Of no organisation: the city society's, as their tickets are; a later second
        # root (another society on the same server) does not see them.
        city = await repo.by_code("chengdu")
        assert city is not None
        assert {p.organisation_id for p in await people.in_scope(Scope.of(city))} == {*ids.values(), None}
        other = await add_organisation(s, code="other", name="另一个红十字会", now=T0)
        assert await people.in_scope(Scope.of(other)) == []
        rows = await list_organisations(s, scope=Scope.of(jinjiang))
        assert [(r.code, r.depth, r.respondents) for r in rows] == [("jinjiang", 1, 1), ("chunxi", 2, 1)]


async def test_bad_organisations_are_refused_with_a_reason(db: Database) -> None:
    await tree(db)
    async with db.transaction() as s:
        with pytest.raises(OrganisationError, match="已存在 organisation code already exists"):
            await add_organisation(s, code="jinjiang", name="again", now=T0)
        with pytest.raises(OrganisationError, match="unknown parent organisation: nowhere"):
            await add_organisation(s, code="x1", name="X", parent="nowhere", now=T0)
        with pytest.raises(OrganisationError, match="a-z 0-9"):
            await add_organisation(s, code="锦江", name="X", now=T0)


async def test_an_organisations_own_flow_serves_it_and_the_stations_below(db: Database) -> None:
    ids = await tree(db)
    await prepare(db, migrate=False, publish_defaults=True)
    await publish_text(db, "volunteer_jinjiang.yaml", district_volunteer_flow(), now=T0, organisation="jinjiang")
    runtime = Runtime(db)

    async def first_words(person: str, organisation: str | None) -> str:
        inbound = Inbound(
            channel="wechat", account="acct", external_id=person, kind="start", delivery_key=f"k:{person}",
            at=T0, start_payload="volunteer", organisation_id=ids[organisation] if organisation else None,
        )  # fmt: skip
        return (await runtime.handle(inbound)).text

    assert DISTRICT_INTRO in await first_words("o-jinjiang", "jinjiang")
    assert DISTRICT_INTRO in await first_words("o-station", "chunxi")  # inherited from its district
    assert DISTRICT_INTRO not in await first_words("o-wuhou", "wuhou")  # the shared flow
    assert DISTRICT_INTRO not in await first_words("o-nobody", None)
    async with db.transaction() as s:
        people = RespondentRepository(s)
        station_person = await people.by_identity("wechat", "acct", "o-station")
        assert station_person is not None and station_person.organisation_id == ids["chunxi"]
        jinjiang = await OrganisationRepository(s).by_code("jinjiang")
        wuhou = await OrganisationRepository(s).by_code("wuhou")
        assert jinjiang is not None and wuhou is not None
        flows = FlowRepository(s)
        assert "volunteer_jinjiang" in {v.flow.code for v in await flows.list_latest(Scope.of(jinjiang))}
        assert "volunteer_jinjiang" not in {v.flow.code for v in await flows.list_latest(Scope.of(wuhou))}


async def test_a_flow_belongs_to_one_organisation(db: Database) -> None:
    await tree(db)
    await publish_text(db, "volunteer_jinjiang.yaml", district_volunteer_flow(), now=T0, organisation="jinjiang")
    with pytest.raises(FlowBelongsElsewhere, match="belongs to another organisation"):
        await publish_text(db, "volunteer_jinjiang.yaml", district_volunteer_flow(), now=T0, organisation="wuhou")
    with pytest.raises(OrganisationError, match="unknown organisation: nowhere"):
        await publish_text(db, "v.yaml", district_volunteer_flow(), now=T0, organisation="nowhere")


def test_orgs_add_and_list_on_the_command_line(tmp_path: Path) -> None:
    env = {"HUIFANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'orgs.db'}"}
    run = CliRunner().invoke
    assert run(main, ["orgs", "add", "chengdu", "成都市红十字会"], env=env).exit_code == 0
    added = run(main, ["orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu"], env=env)
    assert added.exit_code == 0 and "已添加 added jinjiang" in added.output and "(district)" in added.output
    unknown = run(main, ["orgs", "add", "x", "X", "--parent", "nowhere"], env=env)
    assert unknown.exit_code == 1 and "unknown parent organisation: nowhere" in unknown.output
    listed = run(main, ["orgs", "list"], env=env)
    assert listed.exit_code == 0
    assert listed.output.splitlines()[1:] == ["chengdu  成都市红十字会  city  0", "  jinjiang  锦江区红十字会  district  0"]
    only = run(main, ["orgs", "list", "--org", "jinjiang"], env=env)
    assert only.output.splitlines()[1:] == ["jinjiang  锦江区红十字会  district  0"]
    flow_file = tmp_path / "volunteer_jinjiang.yaml"
    flow_file.write_text(district_volunteer_flow(), encoding="utf-8")
    published = run(main, ["flows", "publish", str(flow_file), "--org", "jinjiang"], env=env)
    assert published.exit_code == 0, published.output
    refused = run(main, ["flows", "publish", str(flow_file), "--org", "chengdu"], env=env)
    assert refused.exit_code == 1 and "belongs to another organisation" in refused.output


def test_an_empty_catalog_finds_nothing_instead_of_failing() -> None:
    from bot.services.catalog import Catalog

    assert Catalog(()).find("人道救助") is None and Catalog(()).find("1") is None
