"""`huifang respondents import FILE`: a respondent list from Excel (CSV or XLSX), previewed
row by row; stored only with --yes, and only when no row is wrong (or --skip-errors)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli_support import run_in_transaction

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.container import Container
    from bot.services.respondent_import import ApplyResult, ImportPlan

_SHOWN = 200  # errors listed; a 100,000-row file of wrong rows would bury the summary


@click.group(help="受访者 Respondents.")
def respondents() -> None:
    pass


@respondents.command(
    "import",
    help="导入名单 Import a CSV (UTF-8 or GBK) or XLSX list: 姓名/name, 手机/phone, 类别/category, "
    "机构/organisation, 标签/tags, openid. Prints a preview; stores only with --yes. "
    "Limits: 20 MB, 200,000 rows.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_code", default=None,
              help="The importing admin's organisation: only it and those under it; rows naming none go to it.")
@click.option("--account", default=None, help="WeChat account of the openids (default: the organisation's).")
@click.option("--yes", is_flag=True, help="Store the rows (default: preview only).")
@click.option("--skip-errors", is_flag=True, help="With --yes, store the good rows even if some are wrong.")
def import_(file: Path, org_code: str | None, account: str | None, yes: bool, skip_errors: bool) -> None:  # fmt: skip
    from bot.services.organisations import OrganisationError, scope_of
    from bot.services.respondent_import import ImportFileError, apply, preview, read_table
    from storage.repositories.organisations import Scope

    table = None
    try:
        table = read_table(file)
    except ImportFileError as exc:
        click.echo(f"未导入 nothing imported: {exc}", err=True)
        sys.exit(1)
    rows = table.rows

    async def work(c: Container, s: AsyncSession) -> tuple[ImportPlan, ApplyResult | None]:
        scope = (await scope_of(s, org_code))[1] if org_code else Scope.everything()
        plan = await preview(s, rows, flows=c.flows, scope=scope, default_organisation=org_code, account=account)
        # Preview and apply share this transaction: what was shown is what is stored.
        if yes and (not plan.errors or skip_errors):
            return plan, await apply(s, plan, now=c.clock(), actor="cli", organisation=org_code)
        return plan, None

    refused = (ImportFileError, OrganisationError)
    plan, applied = run_in_transaction(work, refused=refused, prefix="未导入 nothing imported: ")
    if table.encoding:
        click.echo(f"编码 encoding: {table.encoding}")
    if table.ignored:
        click.echo(f"忽略的列 ignored columns: {', '.join(table.ignored)}")
    click.echo(
        f"共 {plan.rows} 行 rows: 新增 new {len(plan.new)}, 更新 updated {len(plan.updated)}, "
        f"无变化 unchanged {len(plan.unchanged)}, 已退订不导入 kept out {len(plan.kept_out)}, "
        f"错误 errors {len(plan.errors)}"
    )
    for row, reason in plan.kept_out[:_SHOWN]:
        click.echo(f"  第{row}行 row {row}: {reason}")
    for row, reason in plan.errors[:_SHOWN]:
        click.echo(f"  第{row}行 row {row}: {reason}", err=True)
    if len(plan.errors) > _SHOWN:
        click.echo(f"  … 另有 {len(plan.errors) - _SHOWN} 个错误 and {len(plan.errors) - _SHOWN} more errors", err=True)
    if applied is not None:
        click.echo(f"已导入 imported: 新增 created {applied.created}, 更新 updated {applied.updated}, "
                   f"微信关联 openids linked {applied.identities}")  # fmt: skip
        return
    if plan.errors:
        click.echo("有错误，未保存任何数据 rows have errors: nothing stored (fix them, or --yes --skip-errors)",
                   err=True)  # fmt: skip
        sys.exit(1)
    click.echo("预览，未保存 preview only, nothing stored: 确认请加 --yes to store, add --yes")
