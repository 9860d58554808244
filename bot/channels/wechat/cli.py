"""`huifang wechat …`: add, update, remove and list Official Accounts, make QR scenes.

Thin: options in, bot.services.accounts does the work, results out.

Secrets given here are stored encrypted with HUIFANG_SECRET_KEY (refused without it). Typed
on a command line they stay in the shell's history: production may leave out --token,
--aes-key and --app-secret and set HUIFANG_WECHAT_<NAME>_TOKEN / _AES_KEY / _APP_SECRET in
the service's environment instead (see bot.channels.wechat.accounts). Nothing here ever
prints a secret.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.channels.wechat.webhook import AccountKeys
    from bot.container import Container
    from bot.dispatch.sender import SendResult
    from bot.services import accounts

T = TypeVar("T")


class _Failed(Exception):
    """A message for the operator; the command exits with status 1."""


def _run(work: Coroutine[Any, Any, T]) -> T:
    from bot.services.accounts import AccountError, BadValue

    try:
        return asyncio.run(work)
    except BadValue as exc:
        raise click.BadParameter(str(exc)) from None
    except (_Failed, AccountError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


@click.group(help="微信公众号 WeChat Official Accounts.")
def wechat() -> None:
    pass


# --- add-account, update-account, remove-account ----------------------------------------


@wechat.command(
    "add-account",
    help="添加公众号 Add an Official Account; it is served at /wechat/NAME. "
    "Secrets are stored encrypted with HUIFANG_SECRET_KEY.",
)
@click.argument("name")
@click.option("--app-id", required=True, help="AppID (开发者ID), e.g. wx0123456789abcdef.")
@click.option(
    "--token",
    default=None,
    help="Token (令牌) set in the server configuration; leave out to use HUIFANG_WECHAT_<NAME>_TOKEN.",
)
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
    token: str | None,
    aes_key: str | None,
    app_secret: str | None,
    template_id: str | None,
    organisation: str | None,
) -> None:
    from bot.services import accounts

    settings = Settings()

    async def work() -> accounts.AccountRead:
        async with _container(settings) as c, c.db.transaction() as s:
            box = c.secrets
            return await accounts.add_account(
                s, box=box, name=name, app_id=app_id, token=token, aes_key=aes_key,
                app_secret=app_secret, template_id=template_id, organisation=organisation,
                now=datetime.now(UTC),
            )  # fmt: skip

    added = _run(work())
    mode = "安全模式/兼容模式 safe or compatible mode" if added.safe_mode else "明文模式 plaintext mode only"
    click.echo(f"已添加 added {added.name} ({added.app_id}), {mode}")
    click.echo(f"服务器地址 server URL: https://<your host>/wechat/{added.name}")
    _warn(added)


@wechat.command("update-account", help="修改公众号 Change an Official Account's secrets, template or organisation.")
@click.argument("name")
@click.option("--token", default=None, help="New Token (令牌).")
@click.option("--aes-key", default=None, help='New EncodingAESKey (43 characters); "" for plaintext mode only.')
@click.option("--app-secret", default=None, help='New AppSecret (开发者密码); "" to remove it.')
@click.option("--template-id", default=None, help='Template message id; "" to remove it.')
@click.option("--organisation", default=None, help='Code of the organisation; "" for none.')
def update_account(
    name: str,
    token: str | None,
    aes_key: str | None,
    app_secret: str | None,
    template_id: str | None,
    organisation: str | None,
) -> None:
    from bot.services import accounts

    settings = Settings()

    async def work() -> accounts.AccountRead:
        async with _container(settings) as c, c.db.transaction() as s:
            box = c.secrets
            return await accounts.update_account(
                s, box=box, name=name, token=token, aes_key=aes_key, app_secret=app_secret,
                template_id=template_id, organisation=organisation, now=datetime.now(UTC),
            )  # fmt: skip

    updated = _run(work())
    click.echo(f"已修改 updated {updated.name}")
    _warn(updated)


@wechat.command(
    "remove-account",
    help="删除公众号 Remove an Official Account and its QR scenes; respondents and answers are kept.",
)
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove it even while respondents are in an open survey.")
def remove_account(name: str, force: bool) -> None:
    from bot.services import accounts

    settings = Settings()

    async def work() -> accounts.Removed:
        async with _container(settings) as c, c.db.transaction() as s:
            return await accounts.remove_account(s, name=name, force=force)

    removed = _run(work())
    click.echo(
        f"已删除 removed {removed.name} ({removed.scenes} scenes); 受访者和回答已保留 respondents and answers kept"
    )
    if removed.respondents_in_open_sessions:
        click.echo(
            f"{removed.respondents_in_open_sessions} 位受访者的问卷未结束 respondent(s) were in an open survey",
            err=True,
        )


def _warn(account: accounts.AccountRead) -> None:
    if account.problem:
        click.echo(f"暂不能使用 not usable yet: {account.problem}", err=True)
    elif not account.can_call_api:
        click.echo("未设置 AppSecret: 不能发送客服消息或生成二维码 no AppSecret: no sending, no QR codes")


# --- accounts -----------------------------------------------------------------------------


@wechat.command("accounts", help="列出公众号 List the Official Accounts (never their secrets).")
def accounts_() -> None:
    from bot.services import accounts

    settings = Settings()

    async def work() -> list[accounts.AccountRead]:
        async with _container(settings) as c, c.db.transaction() as s:
            box = c.secrets
            return await accounts.list_accounts(s, box=box)

    found = _run(work())
    if not found:
        click.echo("还没有公众号 no accounts yet: huifang wechat add-account NAME --app-id … --token …")
        return
    rows = [
        (
            a.name,
            a.app_id,
            "BROKEN" if a.problem else "safe" if a.safe_mode else "plaintext",
            "-" if a.problem else "yes" if a.can_call_api else "no",
            a.template_id or "-",
            a.organisation or "-",
            str(a.scenes),
            a.problem or ",".join(sorted(a.from_env)) or "-",
        )
        for a in found
    ]
    header = ("name", "app_id", "mode", "api", "template", "organisation", "scenes", "secrets_from_env")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


# --- scene --------------------------------------------------------------------------------


@wechat.command("scene", help="生成带参数二维码 Make a QR scene that starts a survey (or binds a respondent).")
@click.option("--account", "account_name", required=True, help="Account name.")
@click.option(
    "--category", required=True, help="Category code, Chinese or English name, e.g. humanitarian_aid or 人道救助."
)
@click.option("--respondent", "respondent_id", type=int, default=None, help="Bind the scanner to this respondent id.")
def scene(account_name: str, category: str, respondent_id: int | None) -> None:
    from bot.services import accounts
    settings = Settings()

    async def work() -> accounts.SceneMade:
        # Seeds the bundled flows first when the database has none: the category is named
        # by them.
        async with _container(settings, seed=True) as c:
            return await accounts.make_scene(
                c.db, box=c.secrets, account=account_name, category=category, respondent_id=respondent_id,
                make_qr=lambda keys, name: _create_qr(c, keys, name), flows=c.flows, now=datetime.now(UTC),
            )  # fmt: skip

    out = _run(work())
    click.echo(f"{'已创建 created' if out.created else '已存在 exists'} scene {out.scene} on {account_name}")
    if out.ticket:
        click.echo(f"ticket: {out.ticket}")
        if out.url:
            click.echo(f"url: {out.url}")
        click.echo(f"二维码图片 QR image: {out.image_url}")
    else:
        click.echo(
            "公众号没有 AppSecret, 未生成二维码 the account has no AppSecret: no QR code made; "
            "make one in the WeChat admin console with this scene"
        )


async def _create_qr(c: Container, keys: AccountKeys, name: str) -> SendResult:
    from bot.channels.wechat.api import LocalTokenStore, WeChatApi

    # Without Redis this one-off command keeps the token to itself: the stable-token
    # endpoint hands out the token already in use rather than retiring it.
    api = WeChatApi(keys, http=c.http, tokens=c.tokens or LocalTokenStore(), base_url=c.settings.wechat_api_base)
    # Permanent: posters and letters outlive the 30 days a temporary code lasts.
    return await api.create_qr_scene(name, permanent=True)


@asynccontextmanager
async def _container(settings: Settings, *, seed: bool = False) -> AsyncIterator[Container]:
    """The configured database (migrated unless HUIFANG_AUTO_MIGRATE=false) and the rest."""
    from bot.container import open_container

    try:
        container = open_container(settings, publish_defaults=seed and settings.publish_default_flows)
        async with container as c:
            yield c
    except ValueError as exc:
        if "HUIFANG_SECRET_KEY" in str(exc):
            raise _Failed(str(exc)) from None
        raise
