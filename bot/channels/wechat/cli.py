"""`huifang wechat …`: add and list Official Accounts, make QR scenes.

Secrets typed on a command line stay in the shell's history: production may leave out
--aes-key and --app-secret and set HUIFANG_WECHAT_<NAME>_AES_KEY / _APP_SECRET (and
_TOKEN, which then wins over the stored one) in the service's environment instead (see
bot.channels.wechat.accounts). Nothing here ever prints a secret.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.channels.wechat.accounts import AccountConfig
    from bot.dispatch.sender import SendResult
    from storage.db import Database

T = TypeVar("T")


class _Failed(Exception):
    """A message for the operator; the command exits with status 1."""


def _run(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except _Failed as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


@click.group(help="微信公众号 WeChat Official Accounts.")
def wechat() -> None:
    pass


# --- add-account ------------------------------------------------------------------------


@wechat.command(
    "add-account",
    help="添加公众号 Add an Official Account; it is served at /wechat/NAME.",
)
@click.argument("name")
@click.option("--app-id", required=True, help="AppID (开发者ID), e.g. wx0123456789abcdef.")
@click.option("--token", required=True, help="Token (令牌) set in the server configuration.")
@click.option(
    "--aes-key",
    default=None,
    help="EncodingAESKey (消息加解密密钥, 43 characters); needed for compatible/safe mode.",
)
@click.option(
    "--app-secret",
    default=None,
    help="AppSecret (开发者密码); needed to send messages and make QR codes.",
)
@click.option("--template-id", default=None, help="Template message id for invitations and reminders.")
@click.option("--organisation", default=None, help="Code of the organisation the account belongs to.")
def add_account(
    name: str,
    app_id: str,
    token: str,
    aes_key: str | None,
    app_secret: str | None,
    template_id: str | None,
    organisation: str | None,
) -> None:
    from bot.channels.wechat.webhook import AccountKeys

    try:
        # Refuses a malformed EncodingAESKey now, not at the first message.
        AccountKeys(name=name, app_id=app_id.strip(), token=token.strip(), aes_key=aes_key, app_secret=app_secret)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    _check_plain("--app-id", app_id)
    _check_plain("--token", token)

    async def work() -> None:
        from storage.repositories.organisations import OrganisationRepository
        from storage.repositories.wechat_accounts import AccountExists, WeChatAccountRepository

        async with _database() as db, db.transaction() as s:
            organisation_id = None
            if organisation is not None:
                found = await OrganisationRepository(s).by_code(organisation)
                if found is None:
                    raise _Failed(f"未知的机构 unknown organisation: {organisation}")
                organisation_id = found.id
            try:
                await WeChatAccountRepository(s).create(
                    name=name,
                    app_id=app_id.strip(),
                    token=token.strip(),
                    aes_key=aes_key,
                    app_secret=app_secret,
                    template_id=template_id,
                    organisation_id=organisation_id,
                    now=datetime.now(UTC),
                )
            except (AccountExists, ValueError) as exc:
                raise _Failed(f"未添加 not added: {exc}") from None

    _run(work())
    mode = "安全模式/兼容模式 safe or compatible mode" if aes_key else "明文模式 plaintext mode only"
    click.echo(f"已添加 added {name} ({app_id.strip()}), {mode}")
    click.echo(f"服务器地址 server URL: https://<your host>/wechat/{name}")
    if not app_secret:
        click.echo("未设置 AppSecret: 不能发送客服消息或生成二维码 no AppSecret: no sending, no QR codes")


def _check_plain(option: str, value: str) -> None:
    value = value.strip()
    if not value or len(value) > 64 or not value.isascii() or any(c.isspace() for c in value):
        raise click.BadParameter(f"{option}: 1–64 ASCII characters without spaces")


# --- accounts -----------------------------------------------------------------------------


@wechat.command("accounts", help="列出公众号 List the Official Accounts (never their secrets).")
def accounts() -> None:
    async def work() -> list[tuple[str, ...]]:
        from bot.channels.wechat.accounts import account_config
        from storage.repositories.organisations import OrganisationRepository
        from storage.repositories.wechat_accounts import WeChatAccountRepository

        rows = []
        async with _database() as db, db.transaction() as s:
            repo = WeChatAccountRepository(s)
            for row in await repo.list():
                organisation = None
                if row.organisation_id is not None:
                    found = await OrganisationRepository(s).get(row.organisation_id)
                    organisation = found.code if found is not None else None
                try:
                    config = account_config(row)
                    mode = "safe" if config.keys.aes_key else "plaintext"
                    api = "yes" if config.keys.app_secret else "no"
                    env = ",".join(sorted(config.from_env)) or "-"
                except ValueError as exc:
                    mode, api, env = "BROKEN", "-", str(exc)
                rows.append(
                    (
                        row.name,
                        row.app_id,
                        mode,
                        api,
                        row.template_id or "-",
                        organisation or "-",
                        str(len(await repo.scenes(row.name))),
                        env,
                    )
                )
        return rows

    rows = _run(work())
    if not rows:
        click.echo("还没有公众号 no accounts yet: huifang wechat add-account NAME --app-id … --token …")
        return
    header = ("name", "app_id", "mode", "api", "template", "organisation", "scenes", "secrets_from_env")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


# --- scene --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SceneOut:
    scene: str
    created: bool
    ticket: str | None
    url: str | None
    image_url: str | None
    problem: str | None


@wechat.command("scene", help="生成带参数二维码 Make a QR scene that starts a survey (or binds a respondent).")
@click.option("--account", "account_name", required=True, help="Account name.")
@click.option("--category", required=True, help="Category code, e.g. humanitarian_aid.")
@click.option("--respondent", "respondent_id", type=int, default=None, help="Bind the scanner to this respondent id.")
def scene(account_name: str, category: str, respondent_id: int | None) -> None:
    settings = Settings()

    async def work() -> _SceneOut:
        from bot.services.catalog import FlowCache
        from bot.channels.wechat.accounts import account_config
        from bot.channels.wechat.intents import category_scene, respondent_scene
        from bot.services.flows import prepare
        from storage.repositories.flows import FlowRepository
        from storage.repositories.respondents import RespondentRepository
        from storage.repositories.wechat_accounts import WeChatAccountRepository

        async with _database(migrate=False) as db:
            await prepare(
                db,
                migrate=settings.auto_migrate,
                publish_defaults=settings.publish_default_flows,
                extra_dir=settings.extra_flows_dir,
            )
            async with db.transaction() as s:
                repo = WeChatAccountRepository(s)
                row = await repo.get(account_name)
                if row is None:
                    raise _Failed(f"未知的公众号 unknown account: {account_name}")
                try:
                    config = account_config(row)
                except ValueError as exc:
                    raise _Failed(str(exc)) from None
                catalog = await FlowCache().catalog(FlowRepository(s))
                found = catalog.find(category)
                if found is None or found[1].category.code != category:
                    codes = ", ".join(f.category.code for _, f in catalog.flows)
                    raise _Failed(f"未知的类别 unknown category: {category} (codes: {codes})")
                if respondent_id is not None:
                    person = await RespondentRepository(s).get(respondent_id)
                    if person is None:
                        raise _Failed(f"未知的受访者 unknown respondent: {respondent_id}")
                    if person.category != category:
                        raise _Failed(
                            f"受访者 {respondent_id} 属于 {person.category}, 不是 {category} "
                            f"respondent {respondent_id} is in {person.category}, not {category}"
                        )
                    name = respondent_scene(respondent_id)
                else:
                    name = category_scene(category)
                row_scene, created = await repo.add_scene(
                    account_name=account_name,
                    scene=name,
                    category=category,
                    respondent_id=respondent_id,
                    now=datetime.now(UTC),
                )
                ticket, url = row_scene.ticket, row_scene.url
            # The scene is committed before WeChat is asked, so a failed call can simply be
            # repeated: the same command makes the missing ticket.
            if ticket is not None:
                return _SceneOut(name, created, ticket, url, _image_url(ticket), None)
            if not config.keys.app_secret:
                return _SceneOut(name, created, None, None, None, None)
            result = await _create_qr(config, name, settings)
            if not result.ok:
                return _SceneOut(
                    name, created, None, None, None,
                    f"WeChat refused 微信拒绝: {result.errcode} {result.errmsg}",
                )  # fmt: skip
            ticket = str(result.data["ticket"])
            url = result.data.get("url")
            async with db.transaction() as s:
                repo = WeChatAccountRepository(s)
                stored = await repo.scene(account_name, name)
                assert stored is not None
                await repo.set_ticket(stored, ticket=ticket, url=str(url) if url else None)
            return _SceneOut(name, created, ticket, url, result.data.get("image_url"), None)

    out = _run(work())
    click.echo(f"{'已创建 created' if out.created else '已存在 exists'} scene {out.scene} on {account_name}")
    if out.ticket:
        click.echo(f"ticket: {out.ticket}")
        if out.url:
            click.echo(f"url: {out.url}")
        click.echo(f"二维码图片 QR image: {out.image_url}")
    elif out.problem is None:
        click.echo(
            "公众号没有 AppSecret, 未生成二维码 the account has no AppSecret: no QR code made; "
            "make one in the WeChat admin console with this scene"
        )
    if out.problem:
        click.echo(out.problem, err=True)
        sys.exit(1)


async def _create_qr(config: AccountConfig, name: str, settings: Settings) -> SendResult:
    import httpx
    from redis.asyncio import Redis

    from bot.channels.wechat.api import LocalTokenStore, WeChatApi

    # Without Redis this one-off command keeps the token to itself: the stable-token
    # endpoint hands out the token already in use rather than retiring it.
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    try:
        async with httpx.AsyncClient() as http:
            api = WeChatApi(
                config.keys,
                http=http,
                redis=redis,
                tokens=None if redis is not None else LocalTokenStore(),
                base_url=settings.wechat_api_base,
            )
            # Permanent: posters and letters outlive the 30 days a temporary code lasts.
            return await api.create_qr_scene(name, permanent=True)
    finally:
        if redis is not None:
            await redis.aclose()


def _image_url(ticket: str) -> str:
    from urllib.parse import quote

    from bot.channels.wechat.api import QR_IMAGE_URL

    return QR_IMAGE_URL.format(ticket=quote(ticket, safe=""))


@asynccontextmanager
async def _database(*, migrate: bool = True) -> AsyncIterator[Database]:
    """The configured database, migrated first unless told otherwise; disposed after."""
    from storage.db import Database
    from storage.migrate import upgrade_async

    settings = Settings()
    db = Database(settings.database_url)
    try:
        if migrate and settings.auto_migrate:
            await upgrade_async(db)
        yield db
    finally:
        await db.dispose()
