"""`huifang` command line: serve, chat, flows validate|publish|graph, db upgrade."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from bot.channels.wechat.cli import wechat
from bot.settings import Settings
from flows.loader import FlowFileError, load_path


@click.group(help="回访 huifang — follow-up surveys. Settings come from HUIFANG_* variables.")
def main() -> None:
    pass


@main.command(help="运行服务 Run the web service (simulator at /simulator, health at /healthz).")
@click.option("--host", default=None, help="Address to bind (default HUIFANG_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default HUIFANG_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    import logging

    import uvicorn

    from bot.app import create_app

    class Server(uvicorn.Server):
        async def startup(self, sockets: list | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:  # bound and listening: the address now answers
                bound = self.config.port
                for server in getattr(self, "servers", []):
                    for sock in server.sockets:
                        bound = sock.getsockname()[1]  # the real port when HUIFANG_PORT=0
                shown = self.config.host
                if shown in ("0.0.0.0", "::", ""):
                    shown = "127.0.0.1"  # listening everywhere: this machine's browser reaches it here
                elif ":" in shown:
                    shown = f"[{shown}]"
                logging.getLogger("uvicorn.error").info("模拟器 simulator: http://%s:%s/simulator", shown, bound)

    settings = Settings()
    config = uvicorn.Config(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )
    server = Server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    if not server.started:  # as uvicorn.run: a port in use or a failed startup is an error
        sys.exit(3)


@main.command(help="发送队列 Send queued messages (outbox) until SIGTERM/SIGINT; run several on PostgreSQL.")
def worker() -> None:
    import logging

    from bot.dispatch.worker import run_until_signalled
    from storage.migrate import upgrade_async

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and WeChat's carry the access_token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
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
    from bot.services import publish_files
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

if __name__ == "__main__":
    main()
