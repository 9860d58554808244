"""WeChat Official Accounts and their QR scenes: add, update, remove, list, make a scene,
re-encrypt the stored secrets.

Secrets are stored encrypted by the SecretBox the caller gives (built from
HUIFANG_SECRET_KEY); without a key, storing one is refused, and the secrets may live in the
service's environment instead (HUIFANG_WECHAT_<NAME>_TOKEN / _AES_KEY / _APP_SECRET, see
bot.channels.wechat.accounts). Errors are `AccountError`s with a message for people, never
holding a secret.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.wechat.accounts import SECRET_FIELDS, env_name
from bot.channels.wechat.api import QR_IMAGE_URL
from bot.channels.wechat.intents import category_scene, respondent_scene
from bot.channels.wechat.webhook import AccountKeys
from bot.dispatch.sender import SendResult
from bot.services.account_directory import account_config
from bot.services.catalog import FlowCache
from storage.db import Database
from storage.models import WeChatAccount
from storage.repositories.flows import FlowRepository
from storage.repositories.organisations import OrganisationRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.wechat_accounts import AccountExists, WeChatAccountRepository
from storage.secrets import NO_KEY, SecretBox, SecretError

# Makes a permanent QR code for a scene at WeChat (an account's keys, the scene string).
QrMaker = Callable[[AccountKeys, str], Awaitable[SendResult]]


class AccountError(Exception):
    """Refused; the message says why, for the operator."""


class BadValue(AccountError):
    """One given value is malformed; `option` names it (for the CLI's usage error)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


class AccountInUse(AccountError):
    def __init__(self, name: str, respondents: int) -> None:
        super().__init__(
            f"公众号 {name} 还有 {respondents} 位受访者的问卷未结束，加 --force 仍可删除 "
            f"account {name} still has {respondents} respondent(s) in an open survey; "
            "--force removes it anyway"
        )
        self.respondents = respondents


class QrRefused(AccountError):
    def __init__(self, result: SendResult) -> None:
        super().__init__(f"微信拒绝 WeChat refused: {result.errcode} {result.errmsg}; 未保存 nothing stored")
        self.errcode = result.errcode


@dataclass(frozen=True, slots=True)
class AccountRead:
    """An account as people may see it: never a secret."""

    name: str
    app_id: str
    safe_mode: bool  # has an EncodingAESKey (safe or compatible mode)
    can_call_api: bool  # has an AppSecret
    template_id: str | None
    organisation: str | None  # its code
    scenes: int
    from_env: frozenset[str]  # which secrets the environment supplies
    problem: str | None  # why it cannot be served, if it cannot


@dataclass(frozen=True, slots=True)
class Removed:
    name: str
    scenes: int
    respondents_in_open_sessions: int


@dataclass(frozen=True, slots=True)
class SceneMade:
    scene: str
    category: str  # the category's code
    created: bool  # False: it was stored already
    ticket: str | None  # None when the account has no AppSecret
    url: str | None
    image_url: str | None


# --- add, update, remove, list ------------------------------------------------------------


async def add_account(
    session: AsyncSession,
    *,
    box: SecretBox,
    name: str,
    app_id: str,
    token: str | None,
    aes_key: str | None = None,
    app_secret: str | None = None,
    template_id: str | None = None,
    organisation: str | None = None,
    now: datetime,
    env: Mapping[str, str] | None = None,
) -> AccountRead:
    """Store a new account, its secrets encrypted. A secret left out (the token too) may come
    from the service's environment instead."""
    app_id = _plain("--app-id", app_id)
    secrets = _given_secrets(token=token, aes_key=aes_key, app_secret=app_secret)
    _check_keys(name, app_id, secrets)
    stored = _seal(box, secrets)
    organisation_id = await _organisation_id(session, organisation)
    try:
        row = await WeChatAccountRepository(session).create(
            name=name,
            app_id=app_id,
            # The column is NOT NULL; empty means "from HUIFANG_WECHAT_<NAME>_TOKEN".
            token=stored.get("token") or "",
            aes_key=stored.get("aes_key"),
            app_secret=stored.get("app_secret"),
            template_id=template_id or None,
            organisation_id=organisation_id,
            now=now,
        )
    except (AccountExists, ValueError) as exc:
        raise AccountError(f"未添加 not added: {exc}") from None
    return await _read(session, row, box, env)


async def update_account(
    session: AsyncSession,
    *,
    box: SecretBox,
    name: str,
    token: str | None = None,
    aes_key: str | None = None,
    app_secret: str | None = None,
    template_id: str | None = None,
    organisation: str | None = None,
    now: datetime,
    env: Mapping[str, str] | None = None,
) -> AccountRead:
    """Change what is given (None leaves a value as it is; "" clears the EncodingAESKey,
    AppSecret, template or organisation). New secrets are stored encrypted."""
    repo = WeChatAccountRepository(session)
    row = await _account(repo, name)
    if token == "":
        raise BadValue("--token", "--token: 令牌不能为空 the token cannot be cleared")
    given = _given_secrets(token=token, aes_key=aes_key or None, app_secret=app_secret or None)
    _check_keys(name, row.app_id, given)
    values: dict[str, str | int | None] = dict(_seal(box, given))
    for field, value in (("aes_key", aes_key), ("app_secret", app_secret)):
        if value == "":
            values[field] = None
    if template_id is not None:
        values["template_id"] = template_id or None
    if organisation is not None:
        values["organisation_id"] = await _organisation_id(session, organisation or None)
    if not values:
        raise AccountError("没有要修改的内容 nothing to change: give at least one option")
    await repo.update(row, now=now, **values)
    return await _read(session, row, box, env)


async def remove_account(session: AsyncSession, *, name: str, force: bool = False) -> Removed:
    """Delete the account and its QR scenes. Refused while respondents reached through it are
    in an open survey, unless `force`; respondents and their answers are kept either way."""
    repo = WeChatAccountRepository(session)
    row = await _account(repo, name)
    busy = await repo.respondents_in_open_sessions(name)
    if busy and not force:
        raise AccountInUse(name, busy)
    scenes = await repo.remove(row)
    return Removed(name, scenes, busy)


async def list_accounts(
    session: AsyncSession, *, box: SecretBox, env: Mapping[str, str] | None = None
) -> list[AccountRead]:
    return [await _read(session, row, box, env) for row in await WeChatAccountRepository(session).list()]


async def rotate_secrets(session: AsyncSession, *, box: SecretBox, now: datetime) -> int:
    """Re-encrypt every stored secret with the first key, plain text left from before
    included; how many values were rewritten. One value no key opens refuses the whole
    rotation (the caller's transaction rolls back), naming the account and field."""
    if not box.can_encrypt:
        raise AccountError(NO_KEY)
    repo = WeChatAccountRepository(session)
    rotated = 0
    for row in await repo.list():
        values: dict[str, str | int | None] = {}
        for field in SECRET_FIELDS:
            stored = getattr(row, field)
            if not stored:
                continue
            try:
                values[field] = box.rotate(stored)
            except SecretError as exc:
                raise AccountError(f"未轮换 nothing rotated: account {row.name}, {field}: {exc}") from None
        if values:
            await repo.update(row, now=now, **values)
            rotated += len(values)
    return rotated


# --- scenes -------------------------------------------------------------------------------


async def make_scene(
    db: Database,
    *,
    box: SecretBox,
    account: str,
    category: str,
    respondent_id: int | None = None,
    make_qr: QrMaker,
    flows: FlowCache | None = None,
    now: datetime,
    env: Mapping[str, str] | None = None,
) -> SceneMade:
    """The QR scene that starts `category`'s survey (or binds the scanner to a respondent).

    `category` is a code, Chinese or English name or alias; the code is stored. With an
    AppSecret, the permanent QR code is made at WeChat first and the scene stored only if
    that succeeded (QrRefused otherwise); without one the scene is stored for the admin to
    make the code in WeChat's console. The call to WeChat runs outside any transaction.
    """
    async with db.transaction() as s:
        repo = WeChatAccountRepository(s)
        row = await _account(repo, account)
        try:
            config = account_config(row, box, env)
        except ValueError as exc:
            raise AccountError(str(exc)) from None
        catalog = await (flows or FlowCache()).catalog(FlowRepository(s))
        found = catalog.find(category)
        if found is None:
            codes = ", ".join(f.category.code for _, f in catalog.flows)
            raise AccountError(f"未知的类别 unknown category: {category} (codes: {codes})")
        code = found[1].category.code
        if respondent_id is not None:
            person = await RespondentRepository(s).get(respondent_id)
            if person is None:
                raise AccountError(f"未知的受访者 unknown respondent: {respondent_id}")
            if person.category != code:
                raise AccountError(
                    f"受访者 {respondent_id} 属于 {person.category}, 不是 {code} "
                    f"respondent {respondent_id} is in {person.category}, not {code}"
                )
            name = respondent_scene(respondent_id)
        else:
            name = category_scene(code)
        existing = await repo.scene(account, name)
        if existing is not None and (existing.ticket is not None or not config.keys.app_secret):
            return _made(name, code, False, existing.ticket, existing.url)
        if not config.keys.app_secret:
            await repo.add_scene(account_name=account, scene=name, category=code, respondent_id=respondent_id, now=now)
            return _made(name, code, True, None, None)

    result = await make_qr(config.keys, name)
    if not result.ok:
        raise QrRefused(result)
    ticket = str(result.data["ticket"])
    url = str(result.data["url"]) if result.data.get("url") else None
    async with db.transaction() as s:
        repo = WeChatAccountRepository(s)
        scene, created = await repo.add_scene(
            account_name=account, scene=name, category=code, respondent_id=respondent_id,
            ticket=ticket, url=url, now=now,
        )  # fmt: skip
        if scene.ticket is None:  # stored without one before this rule, or by a racing run
            await repo.set_ticket(scene, ticket=ticket, url=url)
        return _made(name, code, created, scene.ticket, scene.url)


def image_url(ticket: str) -> str:
    from urllib.parse import quote

    return QR_IMAGE_URL.format(ticket=quote(ticket, safe=""))


# --- helpers ------------------------------------------------------------------------------


def _made(name: str, code: str, created: bool, ticket: str | None, url: str | None) -> SceneMade:
    return SceneMade(name, code, created, ticket, url, image_url(ticket) if ticket else None)


async def _account(repo: WeChatAccountRepository, name: str) -> WeChatAccount:
    row = await repo.get(name)
    if row is None:
        raise AccountError(f"未知的公众号 unknown account: {name}")
    return row


async def _organisation_id(session: AsyncSession, code: str | None) -> int | None:
    if code is None:
        return None
    found = await OrganisationRepository(session).by_code(code)
    if found is None:
        raise AccountError(f"未知的机构 unknown organisation: {code}")
    return found.id


def _plain(option: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > 64 or not value.isascii() or any(c.isspace() for c in value):
        raise BadValue(option, f"{option}: 1–64 个 ASCII 字符，不含空格 1–64 ASCII characters without spaces")
    return value


def _given_secrets(*, token: str | None, aes_key: str | None, app_secret: str | None) -> dict[str, str]:
    given = {}
    if token is not None:
        given["token"] = _plain("--token", token)
    if aes_key:
        given["aes_key"] = aes_key.strip()
    if app_secret:
        given["app_secret"] = app_secret.strip()
    return given


def _check_keys(name: str, app_id: str, secrets: Mapping[str, str]) -> None:
    # A malformed EncodingAESKey is refused now, not at the first message.
    if "aes_key" in secrets:
        try:
            AccountKeys(name=name or "-", app_id=app_id, token="-", aes_key=secrets["aes_key"])
        except ValueError as exc:
            raise BadValue("--aes-key", str(exc)) from None


def _seal(box: SecretBox, secrets: Mapping[str, str]) -> dict[str, str]:
    try:
        return {field: box.encrypt(value) for field, value in secrets.items()}
    except SecretError as exc:
        raise AccountError(str(exc)) from None


async def _read(
    session: AsyncSession, row: WeChatAccount, box: SecretBox, env: Mapping[str, str] | None
) -> AccountRead:
    env = os.environ if env is None else env
    organisation = None
    if row.organisation_id is not None:
        found = await OrganisationRepository(session).get(row.organisation_id)
        organisation = found.code if found is not None else None
    scenes = len(await WeChatAccountRepository(session).scenes(row.name))
    try:
        config = account_config(row, box, env)
    except ValueError as exc:
        from_env = frozenset(f for f in SECRET_FIELDS if env.get(env_name(row.name, f)))
        return AccountRead(
            row.name, row.app_id, False, False, row.template_id, organisation, scenes, from_env, str(exc)
        )
    return AccountRead(
        row.name,
        row.app_id,
        config.keys.aes_key is not None,
        config.keys.app_secret is not None,
        row.template_id,
        organisation,
        scenes,
        config.from_env,
        None,
    )
