"""`huifang report`: a report's figures and written summary as JSON, Markdown, HTML, Word,
Excel or CSV, for the operator (the whole service's scope)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from bot.cli_support import run_in_transaction

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.container import Container

FORMATS = ("json", "xlsx", "csv", "docx", "md", "html")


def _refuse(message: str) -> NoReturn:
    click.echo(f"未生成报告 no report: {message}", err=True)
    sys.exit(1)


@click.command(
    "report",
    help="回访报告 A report: figures per flow and question, and a written summary. "
    "Dates are days in Asia/Shanghai (YYYY-MM-DD), both included; a session counts by the day it started. "
    "e.g. huifang report --org jinjiang --since 2026-06-01 --until 2026-07-31 --format docx -o 报告.docx",
)
@click.option("--flow", "flow_id", default=None, help="A flow, by id or code (e.g. humanitarian_aid).")
@click.option("--category", default=None, help="A category's flows, by code or name (人道救助).")
@click.option("--org", default=None, help="An organisation's code: it and the organisations under it.")
@click.option("--campaign", "campaign_id", type=int, default=None, help="A campaign, by id.")
@click.option("--since", default=None, help="First day (YYYY-MM-DD).")
@click.option("--until", default=None, help="Last day (YYYY-MM-DD), included.")
@click.option("--by", "crosstab_by", type=click.Choice(["category", "organisation", "tag", "channel"]), default=None,
              help="Cross-tab --question by this.")  # fmt: skip
@click.option("--question", default=None, help="The question id to cross-tab (with --by).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (docx, xlsx and csv need one); default: standard output.")  # fmt: skip
def report(
    flow_id: str | None,
    category: str | None,
    org: str | None,
    campaign_id: int | None,
    since: str | None,
    until: str | None,
    crosstab_by: str | None,
    question: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    from bot.services.report_formats import TEXT_FORMATS, left_out_note, render_text, write_report
    from bot.services.reports import ReportError, build_report, parse_day
    from storage.repositories.organisations import Scope

    if output is None and fmt not in TEXT_FORMATS:
        _refuse(f"--format {fmt} 需要输出文件 needs an output file: -o FILE.{fmt}")
    if output is not None and not output.parent.is_dir():
        _refuse(f"目录不存在 no such directory: {output.parent}")
    try:
        first = parse_day(since, "--since") if since else None
        last = parse_day(until, "--until") if until else None
    except ReportError as exc:
        _refuse(str(exc))

    async def work(c: Container, s: AsyncSession) -> dict[str, Any]:
        return await build_report(
            s, scope=Scope.everything(), flow_id=flow_id, category=category, org=org, campaign_id=campaign_id,
            since=first, until=last, crosstab_by=crosstab_by, question=question, now=c.clock(),
        )  # fmt: skip

    data = run_in_transaction(work, refused=(ReportError,), prefix="未生成报告 no report: ")
    if data.get("test_sessions_left_out"):
        click.echo(f"注意 note: {left_out_note(data)}", err=True)
    if output is None:
        click.echo(render_text(data, fmt), nl=False)
        return
    for path in write_report(data, fmt, output):
        click.echo(f"已写入 written: {path}")
