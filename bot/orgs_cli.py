"""`huifang orgs add | list`: the organisation tree (city society → district societies →
grassroots stations)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bot.cli_support import run_in_transaction
from storage.models.organisation import KINDS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.container import Container


@click.group(help="机构 Organisations: city society, district societies, grassroots stations.")
def orgs() -> None:
    pass


@orgs.command("add", help="添加机构 Add an organisation: huifang orgs add jinjiang 锦江区红十字会 --parent chengdu")
@click.argument("code")
@click.argument("name")
@click.option("--parent", default=None, help="Code of the organisation above it (none: a root, e.g. the city society).")
@click.option(
    "--kind", type=click.Choice(KINDS), default=None,
    help="Default: city for a root, district under a city, grassroots below that.",
)  # fmt: skip
def add(code: str, name: str, parent: str | None, kind: str | None) -> None:
    from bot.services.organisations import OrganisationError, add_organisation

    async def work(c: Container, s: AsyncSession) -> str:
        made = await add_organisation(s, code=code, name=name, parent=parent, kind=kind, now=c.clock())
        return made.kind

    made_kind = run_in_transaction(work, refused=(OrganisationError,), prefix="未添加 not added: ")
    where = f"，上级 under {parent}" if parent else ""
    click.echo(f"已添加 added {code} {name} ({made_kind}){where}")


@orgs.command("list", help="列出机构 List the organisation tree with each one's respondents.")
@click.option("--org", "org_code", default=None, help="Only this organisation and those under it.")
def list_(org_code: str | None) -> None:
    from bot.services.organisations import OrganisationError, OrganisationRead, list_organisations, scope_of

    async def work(c: Container, s: AsyncSession) -> list[OrganisationRead]:
        scope = (await scope_of(s, org_code))[1] if org_code else None
        return await list_organisations(s, scope=scope)

    rows = run_in_transaction(work, refused=(OrganisationError,))
    if not rows:
        click.echo("还没有机构 no organisations yet: huifang orgs add CODE 名称 [--parent CODE]")
        return
    top = min(r.depth for r in rows)
    click.echo("code  name  kind  respondents 受访者")
    for r in rows:
        click.echo(f"{'  ' * (r.depth - top)}{r.code}  {r.name}  {r.kind}  {r.respondents}")
