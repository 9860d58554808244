"""`huifang` command line: serve, chat, flows validate|publish|graph, db upgrade."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.channels.wechat.cli import wechat
from bot.orgs_cli import orgs
from bot.queues_cli import queues
from bot.report_cli import report
from bot.respondents_cli import respondents
from bot.secrets_cli import secrets
from bot.settings import Settings
from bot.tickets_cli import tickets
from bot.users_cli import users
from bot.xlsform_cli import flows_export, flows_import
from flows.lint_zh import bilingual
from flows.loader import FlowFileError, load_path

if TYPE_CHECKING:
    from fastapi import FastAPI


class _Commands(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # A wrong setting, or a database that is missing or unreachable, is the
            # operator's to fix: one line that names it, not a traceback.
            line = _bad_setting(exc) or _database_unreachable(exc)
            if line is None:
                raise
            click.echo(line, err=True)
            sys.exit(1)


def _bad_setting(exc: BaseException) -> str | None:
    """One line naming each HUIFANG_ variable that cannot be read, and why (never its value)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    if isinstance(exc, SettingsError):
        # pydantic-settings says which field; the value itself stays out (it may be a secret).
        field = str(exc).split('"')[1] if '"' in str(exc) else "?"
        return f"配置有误 invalid setting: HUIFANG_{field.upper()} cannot be read (JSON expected?)"
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        problems = "; ".join(
            f"HUIFANG_{'_'.join(str(p) for p in e['loc'][:1]).upper()}: {e['msg']}" for e in exc.errors()
        )
        return f"配置有误 invalid setting: {problems}"
    return None


def _database_unreachable(exc: BaseException) -> str | None:
    """One line (Chinese, then English) when `exc` means the configured database cannot be
    used at all; None for anything else."""
    import socket

    from sqlalchemy import make_url
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, DBAPIError):
        chain: list[BaseException] = []
        seen: set[int] = set()
        todo: list[BaseException | None] = [exc]
        while todo:
            e = todo.pop()
            if e is None or id(e) in seen:
                continue
            seen.add(id(e))
            chain.append(e)
            todo += [e.__cause__, e.__context__, getattr(e, "orig", None)]
    elif isinstance(exc, OSError) and exc.filename is None:
        # asyncpg raises connection failures unwrapped; which OSErrors count is decided below
        # (a broken stdout pipe is an OSError too, and no database's fault).
        chain = [exc]
    else:
        return None

    settings_url = Settings().database_url
    try:
        url = make_url(settings_url)
        shown = url.render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 — a URL SQLAlchemy cannot parse has no password to hide
        url, shown = None, "HUIFANG_DATABASE_URL"
    names = {type(e).__name__ for e in chain}
    if "InvalidCatalogNameError" in names:
        name = url.database if url is not None else "NAME"
        return f"数据库不存在 database does not exist: {shown} — 请先创建 create it first: createdb {name}"
    if names & {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
        return (
            f"数据库拒绝登录 the database refused the login: {shown} — 请检查用户名和密码 check the user and password"
        )
    for e in chain:
        if isinstance(e, ConnectionRefusedError) or (isinstance(e, OSError) and "Connect call failed" in str(e)):
            return (
                f"无法连接数据库 cannot connect to the database: {shown}: 连接被拒绝 connection refused — "
                "服务器在运行吗？主机和端口对吗？ is the server running, are host and port right?"
            )
        if isinstance(e, socket.gaierror):
            return f"找不到数据库主机 unknown database host: {shown} — 请检查主机名 check the host name"
        if isinstance(e, TimeoutError):
            return f"连接数据库超时 timed out connecting to the database: {shown} — 请检查网络 check the network"
    if isinstance(exc, OperationalError) and "unable to open database file" in str(exc):
        # SQLite's only way of saying the file cannot be opened; its other operational errors
        # (a missing table, a locked file) keep their traceback. aiosqlite's worker thread may
        # still print "Event loop is closed" after a failed connect (omnilib/aiosqlite#241).
        return (
            f"无法打开数据库 cannot open the database: {shown}: unable to open database file — "
            "目录存在且可写吗？ does the directory exist and is it writable?"
        )
    return None


@click.group(cls=_Commands, help="回访 huifang — follow-up surveys. Settings come from HUIFANG_* variables.")
def main() -> None:
    pass


@main.command(help="运行服务 Run the web service (simulator at /simulator, health at /healthz).")
@click.option("--host", default=None, help="Address to bind (default HUIFANG_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default HUIFANG_PORT or 8000).")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="Server processes sharing the port (default HUIFANG_WORKERS or 1); more than one needs PostgreSQL and Redis.",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    import logging

    import uvicorn

    from bot.app import create_app
    from bot.logging_setup import configure_logging

    settings = Settings()
    workers = workers or settings.workers
    refusal = workers_refusal(settings, workers)
    if refusal is not None:
        raise click.UsageError(refusal)
    configure_logging()

    class Server(uvicorn.Server):
        async def startup(self, sockets: list | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and workers == 1:  # bound and listening: the address now answers
                bound = self.config.port
                for server in getattr(self, "servers", []):
                    for sock in server.sockets:
                        bound = sock.getsockname()[1]  # the real port when HUIFANG_PORT=0
                shown = self.config.host
                if shown in ("0.0.0.0", "::", ""):
                    shown = "127.0.0.1"  # listening everywhere: this machine's browser reaches it here
                elif ":" in shown:
                    shown = f"[{shown}]"
                base = f"http://{shown}:{bound}"
                if settings.simulator_on:
                    logging.getLogger("uvicorn.error").info("模拟器 simulator: %s/simulator", base)
                else:  # production: the simulator is off unless HUIFANG_SIMULATOR_ENABLED
                    logging.getLogger("uvicorn.error").info("服务地址 serving at: %s (健康检查 %s/healthz)", base, base)

    bind_host, bind_port = host or settings.host, port or settings.port
    if workers == 1:
        server = Server(
            uvicorn.Config(
                create_app(settings),
                host=bind_host,
                port=bind_port,
                log_level="info",
                log_config=None,  # keep configure_logging's handler: uvicorn's own prints query strings
            )
        )
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        if not server.started:  # as uvicorn.run: a port in use or a failed startup is an error
            sys.exit(3)
        return
    # Several processes: uvicorn's supervisor binds the socket and starts the workers, each
    # of which builds its app (and its own pool of HUIFANG_DB_POOL_SIZE) from the environment.
    logging.getLogger("uvicorn.error").info(
        "服务地址 serving at: http://%s:%s, %d 个工作进程 worker processes", bind_host, bind_port, workers
    )
    uvicorn.run(
        "bot.cli:worker_app", factory=True, workers=workers, host=bind_host, port=bind_port,
        log_level="info", log_config=None,
    )  # fmt: skip


def worker_app() -> FastAPI:
    """The app of one `serve --workers` process. uvicorn starts workers as new interpreters,
    which do not inherit this process's logging: each sets up the masking handler itself."""
    from bot.app import create_app
    from bot.logging_setup import configure_logging

    configure_logging()
    return create_app()


def workers_refusal(settings: Settings, workers: int) -> str | None:
    """Why `serve --workers N` cannot run with these settings, in Chinese and English; None
    when it can. One process is always fine."""
    if workers == 1:
        return None
    if settings.embedded:
        return (
            f"--workers {workers}: 内置 SQLite 模式只能单进程运行（写锁、发送队列和令牌都在进程内）；"
            "多进程请使用 PostgreSQL 和 Redis（HUIFANG_DATABASE_URL、HUIFANG_REDIS_URL）。"
            " The embedded SQLite default runs in one process (its writer lock, outbox worker and "
            "tokens live in it); for several workers use PostgreSQL and Redis."
        )
    if not settings.redis_url:
        return (
            f"--workers {workers}: 多进程需要 Redis（HUIFANG_REDIS_URL）共享微信防重放记录和 access_token。"
            " Several workers share WeChat's replay guard and access token through Redis: set HUIFANG_REDIS_URL."
        )
    if settings.simulator_on and settings.simulator_secret is None:
        return (
            f"--workers {workers}: 模拟器开启时多进程需要同一个 HUIFANG_SIMULATOR_SECRET。"
            " With the simulator on, every worker needs the same HUIFANG_SIMULATOR_SECRET."
        )
    return None


@main.command(help="发送队列 Send queued messages (outbox) until SIGTERM/SIGINT; run several on PostgreSQL.")
def worker() -> None:
    from bot.dispatch.worker import run_until_signalled
    from bot.logging_setup import configure_logging

    configure_logging()
    asyncio.run(run_until_signalled(Settings()))


@main.command(
    help="在终端里答一份问卷 Take a survey in the terminal: a try-out (a test respondent, not counted in "
    "reports), or with --interview the answers of a real person (phone, face to face, paper form)."
)
@click.option("--category", default=None, help="Category code or Chinese name, e.g. humanitarian_aid or 人道救助.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
@click.option("--org", "org_code", default=None, help="Take the survey as a respondent of this organisation.")
@click.option(
    "--interview", is_flag=True,
    help="代录访谈 Record what a real person answered (by phone, face to face, on paper): counted in reports.",
)  # fmt: skip
@click.option(
    "--phone", default=None,
    help="With --interview: the listed respondent with this phone number (their category unless --category).",
)  # fmt: skip
def chat(category: str | None, lang: str, org_code: str | None, interview: bool, phone: str | None) -> None:
    from bot.channels.console import run_console

    if phone is not None and not interview:
        raise click.UsageError("--phone 只用于代录访谈 --phone goes with --interview")
    if category is None and phone is None:
        raise click.UsageError("请用 --category 指定类别 name the category with --category")
    code = asyncio.run(run_console(Settings(), category, lang, org_code, interview=interview, phone=phone))
    sys.exit(code)


@main.group(help="流程文件 Flow files.")
def flows() -> None:
    pass


def _flow_paths(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; a directory stands for the flow files in it."""
    from flows.loader import FLOW_SUFFIXES, flow_files

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = flow_files(p)
            if not found:
                patterns = ", ".join(f"*{s}" for s in FLOW_SUFFIXES)
                click.echo(f"目录中没有流程文件 no flow files ({patterns}) in {p}", err=True)
                sys.exit(1)
            out += found
        else:
            out.append(p)
    return out


@flows.command(
    "validate",
    help="检查流程文件 Check flow files (or every *.yaml, *.yml, *.json of a directory); "
    "errors name file:line and path.",
)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def flows_validate(paths: tuple[Path, ...]) -> None:
    failed = False
    for p in _flow_paths(paths):
        flow, _, errors = load_path(p)
        if errors:
            failed = True
            for e in errors:
                click.echo(bilingual(e), err=True)
        else:
            assert flow is not None  # load_path gives a flow whenever there are no errors
            click.echo(f"ok  {p}: {flow.id} ({flow.category.name.zh}), {len(flow.questions)} questions")
    sys.exit(1 if failed else 0)


@flows.command("publish", help="发布流程 Store a new immutable version of each changed flow (files or directories).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--org", "org_code", default=None,
    help="The organisation the flows belong to: they serve it and those under it (default: shared by all).",
)  # fmt: skip
def flows_publish(paths: tuple[Path, ...], org_code: str | None) -> None:
    from bot.container import open_container
    from bot.services.flows import publish_files
    from bot.services.organisations import OrganisationError
    from storage.repositories.flows import FlowBelongsElsewhere

    files = _flow_paths(paths)

    async def run() -> list:
        # Only the files named: the bundled defaults are not seeded by this command.
        async with open_container(Settings(), publish_defaults=False) as container:
            return await publish_files(container.db, files, organisation=org_code)

    try:
        results = asyncio.run(run())
    except FlowFileError as exc:
        for e in exc.errors:
            click.echo(bilingual(e), err=True)
        click.echo("未发布任何流程 nothing published", err=True)
        sys.exit(1)
    except (OrganisationError, FlowBelongsElsewhere) as exc:
        click.echo(f"{exc}\n未发布任何流程 nothing published", err=True)
        sys.exit(1)
    for r in results:
        state = "已发布 published" if r.created else "未变化 unchanged"
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


for _command in (flows_import, flows_export):
    flows.add_command(_command)


@main.group(help="数据库 Database.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply the Alembic migrations to HUIFANG_DATABASE_URL.")
def db_upgrade() -> None:
    from storage.migrate import count_between, current, upgrade

    settings = Settings()
    before = current(settings.database_url)
    upgrade(settings.database_url)
    after = current(settings.database_url)
    if before == after:
        click.echo(f"已是最新 already up to date ({after})")
    else:
        count = count_between(before, after)
        click.echo(f"已升级 upgraded: {before or '<none>'} → {after} ({count} migration{'s' if count != 1 else ''})")
    if settings.publish_default_flows:
        # As `serve` does at its start: the categories exist from now on, so respondents and
        # queues can be set up before the service first runs.
        from bot.services.flows import prepare
        from storage.db import Database

        async def seed() -> None:
            database = Database(settings.database_url)
            try:
                await prepare(database, migrate=False, publish_defaults=True, extra_dir=settings.extra_flows_dir)
            finally:
                await database.dispose()

        asyncio.run(seed())
        click.echo("默认流程已就绪 the default flows are in place")


@main.command("telegram-poll", help="长轮询接收 Telegram 消息 Poll Telegram for updates (no public URL needed).")
@click.option("--bot", "bot_name", default=None, help="Bot name from HUIFANG_TELEGRAM_BOTS (needed if several).")
def telegram_poll(bot_name: str | None) -> None:
    from bot.channels.telegram.config import choose_bot

    settings = Settings()
    # Before importing the polling loop: aiogram takes seconds to import, and a missing
    # configuration should be said at once.
    if isinstance(problem := choose_bot(settings.telegram_bots, bot_name), str):
        click.echo(problem, err=True)
        sys.exit(2)
    from bot.channels.telegram.polling import run_polling

    sys.exit(asyncio.run(run_polling(settings, bot_name)))


@main.command("telegram-webhook", help="登记 Telegram 回调地址 Tell Telegram to post a bot's updates to huifang.")
@click.argument("public_url")
@click.option("--bot", "bot_name", default=None, help="Bot name from HUIFANG_TELEGRAM_BOTS (needed if several).")
def telegram_webhook(public_url: str, bot_name: str | None) -> None:
    from bot.channels.telegram.config import choose_bot, webhook_url

    settings = Settings()
    config = choose_bot(settings.telegram_bots, bot_name)
    if isinstance(config, str):
        click.echo(config, err=True)
        sys.exit(2)
    try:
        webhook_url(config, public_url)  # refused now, not after importing aiogram
        from bot.channels.telegram.webhook import register_webhook

        url = asyncio.run(register_webhook(config, public_url, settings.telegram_api_base))
    except ValueError as exc:  # no webhook_secret, or not an https:// address
        click.echo(f"未登记 not registered: {exc}", err=True)
        sys.exit(1)
    click.echo(f"已登记 registered: Telegram posts {config.name}'s updates to {url}")


main.add_command(wechat)
main.add_command(orgs)
main.add_command(queues)
main.add_command(report)
main.add_command(respondents)
main.add_command(secrets)
main.add_command(tickets)
main.add_command(users)

if __name__ == "__main__":
    main()
