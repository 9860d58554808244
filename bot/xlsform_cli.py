"""`huifang flows import FILE.xlsx` and `huifang flows export FLOW -o FILE.xlsx` (XLSForm)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from bot.settings import Settings


@click.command(
    "import", help="导入 XLSForm Publish a flow from an XLSForm workbook (.xlsx); errors name FILE:sheet:row."
)
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--org", "org_code", default=None,
    help="The organisation the flow belongs to (default: shared by all).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Check the workbook only; store nothing.")
def flows_import(path: Path, org_code: str | None, dry_run: bool) -> None:
    from bot.container import open_container
    from bot.services.flows import Published
    from bot.services.organisations import OrganisationError
    from bot.services.xlsform import MAX_BYTES, XlsFormError, import_workbook, publish_workbook
    from flows.loader import FlowFileError
    from storage.repositories.flows import FlowBelongsElsewhere

    try:
        if path.stat().st_size > MAX_BYTES:
            click.echo(f"{path}: 文件太大 too large: at most {MAX_BYTES // (1024 * 1024)} MB", err=True)
            sys.exit(1)
        data = path.read_bytes()
    except OSError as exc:
        click.echo(f"{path}: 无法读取 cannot read: {exc.strerror}", err=True)
        sys.exit(1)

    async def run() -> Published:
        async with open_container(Settings(), publish_defaults=False) as c, c.db.transaction() as s:
            return await publish_workbook(s, path.name, data, organisation=org_code, actor="cli", now=c.clock())

    try:
        if dry_run:
            definition = import_workbook(data)
            click.echo(f"ok  {path}: {definition['id']}, {len(definition['questions'])} questions (dry run 未发布)")
            return
        published = asyncio.run(run())
    except XlsFormError as exc:
        for e in exc.errors:
            click.echo(f"{path}:{e}", err=True)
        click.echo("未发布任何流程 nothing published", err=True)
        sys.exit(1)
    except FlowFileError as exc:
        for fe in exc.errors:
            click.echo(str(fe), err=True)
        click.echo("未发布任何流程 nothing published", err=True)
        sys.exit(1)
    except (OrganisationError, FlowBelongsElsewhere) as exc:
        click.echo(f"{exc}\n未发布任何流程 nothing published", err=True)
        sys.exit(1)
    state = "已发布 published" if published.created else "未变化 unchanged"
    click.echo(f"{state}  {published.flow_id} v{published.version}  ({path})")


@click.command("export", help="导出 XLSForm Write a flow (stored, or a flow file) as an XLSForm workbook.")
@click.argument("flow")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, dir_okay=False))
def flows_export(flow: str, output: Path) -> None:
    from bot.container import open_container
    from bot.services.xlsform import stored_flow, workbook_bytes
    from flows.loader import load_path
    from flows.schema import Flow

    loaded: Flow | None
    if Path(flow).is_file():
        loaded, _, errors = load_path(flow)
        if loaded is None:
            for e in errors:
                click.echo(str(e), err=True)
            sys.exit(1)
    else:

        async def run() -> Flow | None:
            async with open_container(Settings(), publish_defaults=True) as container:
                return await stored_flow(container.db, flow)

        loaded = asyncio.run(run())
        if loaded is None:
            click.echo(f"unknown flow 未知流程: {flow}", err=True)
            sys.exit(1)
    output.write_bytes(workbook_bytes(loaded))
    click.echo(f"exported 已导出  {loaded.id} v{loaded.version}  → {output}")
