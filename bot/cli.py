"""`huifang` command line: serve, chat, flows validate|publish|graph, db upgrade."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from bot.channels.wechat.cli import wechat
from bot.secrets_cli import secrets
from bot.settings import Settings
from flows.loader import FlowFileError, load_path


@click.group(help="回访 huifang — follow-up surveys. Settings come from HUIFANG_* variables.")
def main() -> None:
    pass


@main.command(help="运行服务 Run the web service (simulator at /simulator, health at /healthz).")
@click.option("--host", default=None, help="Address to bind (default HUIFANG_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default HUIFANG_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    import uvicorn

    from bot.app import create_app
    from bot.logging_setup import configure_logging

    configure_logging()
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        log_config=None,  # keep configure_logging's handler: uvicorn's own prints query strings
    )


@main.command(help="发送队列 Send queued messages (outbox) until SIGTERM/SIGINT; run several on PostgreSQL.")
def worker() -> None:
    from bot.dispatch.worker import run_until_signalled
    from bot.logging_setup import configure_logging
    from storage.migrate import upgrade_async

    configure_logging()
    settings = Settings()

    async def run() -> None:
        if settings.auto_migrate:
            await upgrade_async(settings.database_url)
        await run_until_signalled(settings)

    asyncio.run(run())


@main.command(help="在终端里答一份问卷 Take a survey in the terminal.")
@click.option("--category", required=True, help="Category code or Chinese name, e.g. humanitarian_aid or 人道救助.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
def chat(category: str, lang: str) -> None:
    from bot.channels.console import run_console

    code = asyncio.run(run_console(Settings(), category, lang))
    sys.exit(code)


@main.group(help="流程文件 Flow files.")
def flows() -> None:
    pass


@flows.command("validate", help="检查流程文件 Check flow files; errors name file:line and path.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def flows_validate(paths: tuple[Path, ...]) -> None:
    failed = False
    for p in paths:
        flow, _, errors = load_path(p)
        if errors:
            failed = True
            for e in errors:
                click.echo(str(e), err=True)
        else:
            click.echo(f"ok  {p}: {flow.id} ({flow.category.name.zh}), {len(flow.questions)} questions")
    sys.exit(1 if failed else 0)


@flows.command("publish", help="发布流程 Store a new immutable version of each changed flow.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def flows_publish(paths: tuple[Path, ...]) -> None:
    from bot.services.flows import publish_files
    from storage.db import Database
    from storage.migrate import upgrade_async

    async def run() -> list:
        settings = Settings()
        db = Database(settings.database_url)
        try:
            if settings.auto_migrate:
                await upgrade_async(settings.database_url)
            return await publish_files(db, list(paths))
        finally:
            await db.dispose()

    try:
        results = asyncio.run(run())
    except FlowFileError as exc:
        for e in exc.errors:
            click.echo(str(e), err=True)
        click.echo("nothing published 未发布任何流程", err=True)
        sys.exit(1)
    for r in results:
        state = "published 已发布" if r.created else "unchanged 未变化"
        click.echo(f"{state}  {r.flow_id} v{r.version}  ({r.path})")


@flows.command("graph", help="流程图 Print a flow's states and transitions as Mermaid text.")
@click.argument("flow")
def flows_graph(flow: str) -> None:
    from flows.loader import default_flow_paths
    from flows.machine import mermaid

    candidates = [Path(flow)] if Path(flow).exists() else []
    if not candidates:
        for p in default_flow_paths():
            loaded, _, _ = load_path(p)
            if loaded and flow in (loaded.id, loaded.category.code, loaded.category.name.zh):
                candidates = [p]
    if not candidates:
        click.echo(f"unknown flow 未知流程: {flow}", err=True)
        sys.exit(1)
    loaded, _, errors = load_path(candidates[0])
    if loaded is None:
        for e in errors:
            click.echo(str(e), err=True)
        sys.exit(1)
    click.echo(mermaid(loaded))


@main.group(help="数据库 Database.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply the Alembic migrations to HUIFANG_DATABASE_URL.")
def db_upgrade() -> None:
    from storage.migrate import upgrade

    settings = Settings()
    upgrade(settings.database_url)
    click.echo("database is up to date 数据库已是最新")


@main.command("telegram-poll", help="长轮询接收 Telegram 消息 Poll Telegram for updates (no public URL needed).")
@click.option("--bot", "bot_name", default=None, help="Bot name from HUIFANG_TELEGRAM_BOTS (needed if several).")
def telegram_poll(bot_name: str | None) -> None:
    from bot.channels.telegram.polling import run_polling

    sys.exit(asyncio.run(run_polling(Settings(), bot_name)))


main.add_command(wechat)
main.add_command(secrets)

if __name__ == "__main__":
    main()
