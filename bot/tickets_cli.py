"""`huifang tickets classify`: how free text would be read for tickets, line by line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from flows.detect import RuleSet, classify, load_rules


@click.group(help="工单 Tickets: complaints and requests for help found in respondents' answers.")
def tickets() -> None:
    pass


@tickets.command(
    "classify",
    help=(
        "逐行判断标准输入中的文字 Read each line of standard input and print one JSON object per "
        'line: {"text", "kind": complaint|help|suggestion|none, "escalate", "matched"}.'
    ),
)
@click.option(
    "--rules", "rules_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="机构自定义规则 An organisation's extra phrases (YAML/JSON: complaint, help, suggestion, none, human).",
)  # fmt: skip
def classify_(rules_path: Path | None) -> None:
    extra: RuleSet | None = None
    if rules_path is not None:
        try:
            text = rules_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"无法读取规则文件 cannot read the rules file: {rules_path}: {exc}", err=True)
            sys.exit(2)
        extra, errors = load_rules(str(rules_path), text)
        if extra is None:
            for error in errors:
                click.echo(f"规则有误 invalid rules: {error}", err=True)
            sys.exit(2)
    # Bytes in and out, UTF-8 whatever the console's encoding: a stray invalid byte is shown
    # as U+FFFD instead of stopping the whole run, and the JSON is always UTF-8.
    out = sys.stdout.buffer
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line.strip():
            continue
        found = classify(line, extra=extra)
        record = {"text": line, "kind": found.kind, "escalate": found.escalate, "matched": list(found.matched)}
        out.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    out.flush()


@tickets.group("rules", help="机构自定义识别规则 An organisation's own phrases for reading complaints and requests.")
def rules() -> None:
    pass


@rules.command("set", help="设置机构规则 Check a rules file (YAML/JSON) and make it the organisation's rules.")
@click.option("--org", "org_code", required=True, help="Organisation code; its rules also apply to those under it.")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def rules_set(org_code: str, path: Path) -> None:
    import asyncio

    from bot.container import open_container
    from bot.services.organisations import OrganisationError, organisation_id
    from bot.services.text_kinds import RulesError, save_rules
    from bot.settings import Settings

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"无法读取规则文件 cannot read the rules file: {path}: {exc}", err=True)
        sys.exit(1)

    async def work() -> RuleSet:
        async with open_container(Settings(), publish_defaults=False) as c:
            org_id = await organisation_id(c.db, org_code)
            async with c.db.transaction() as s:
                return await save_rules(
                    s, organisation_id=org_id, name=str(path), text=text, by="cli", now=c.clock()
                )

    try:
        saved = asyncio.run(work())
    except RulesError as exc:
        for error in exc.errors:
            click.echo(f"规则有误 invalid rules: {error}", err=True)
        click.echo("未保存 nothing saved", err=True)
        sys.exit(1)
    except OrganisationError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    counts = ", ".join(f"{kind} {len(getattr(saved, kind))}" for kind in type(saved).model_fields)
    click.echo(f"已保存 saved the rules of {org_code}: {counts}")
