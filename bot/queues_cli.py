"""`huifang queues add | list`: where each organisation's tickets wait, and their service
levels (an organisation without queues gets a "default" one on its first ticket)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from bot.cli_support import run_in_transaction

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.container import Container


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]


@click.group(help="工单队列 Ticket queues: where an organisation's tickets wait, with their service levels.")
def queues() -> None:
    pass


@queues.command(
    "add",
    help="添加队列 Add a queue: huifang queues add chengdu complaints 投诉处理 --first-response 240 --resolution 2880",
)
@click.argument("org_code")
@click.argument("queue_code")
@click.argument("name")
@click.option("--first-response", "first_response", type=int, required=True, help="Minutes to the first response.")
@click.option("--resolution", type=int, required=True, help="Minutes to the resolution.")
@click.option("--categories", default=None, help="Respondent categories it takes, comma-separated (default: any).")
@click.option("--kinds", default=None, help="Ticket kinds it takes: complaint,help,human,flagged (default: any).")
@click.option("--priority", type=int, default=2, show_default=True, help="Its tickets' priority, 1 urgent … 4 low.")
def add(
    org_code: str,
    queue_code: str,
    name: str,
    first_response: int,
    resolution: int,
    categories: str | None,
    kinds: str | None,
    priority: int,
) -> None:
    from bot.services.ticket_queues import QueueError, add_queue

    async def work(c: Container, s: AsyncSession) -> None:
        await add_queue(
            s,
            organisation=org_code,
            code=queue_code,
            name=name,
            first_response_minutes=first_response,
            resolution_minutes=resolution,
            categories=_split(categories),
            kinds=_split(kinds),
            priority=priority,
            now=c.clock(),
        )

    run_in_transaction(work, refused=(QueueError,), prefix="未添加 not added: ")
    click.echo(f"已添加 added {org_code}/{queue_code} {name}: 首次响应 first response {first_response} min, "
               f"解决 resolution {resolution} min, P{priority}")  # fmt: skip


@queues.command("list", help="列出队列 List the queues, with their service levels.")
@click.option("--org", "org_code", default=None, help="Only this organisation and those under it.")
def list_(org_code: str | None) -> None:
    from bot.services.organisations import OrganisationError, scope_of
    from bot.services.ticket_queues import list_queues

    async def work(c: Container, s: AsyncSession) -> list[Any]:
        scope = (await scope_of(s, org_code))[1] if org_code else None
        return list(await list_queues(s, scope=scope))

    rows = run_in_transaction(work, refused=(OrganisationError,))
    if not rows:
        click.echo("还没有队列 no queues yet: huifang queues add ORG_CODE QUEUE_CODE 名称 --first-response 240 "
                   "--resolution 2880")  # fmt: skip
        return
    click.echo("org  queue  name  categories  kinds  priority  first response / resolution (min)")
    for r in rows:
        cats = ",".join(r.categories) if r.categories is not None else "*"
        kinds = ",".join(r.kinds) if r.kinds is not None else "*"
        click.echo(
            f"{r.organisation_code}  {r.code}  {r.name}  {cats}  {kinds}  P{r.priority}  "
            f"{r.first_response_minutes} / {r.resolution_minutes}"
        )
