"""Personal QR letters — 个人二维码信函 — for respondents who do not follow the account yet.

Each chosen respondent gets their personal scene `r:<id>` on the WeChat account of their
organisation (the nearest one up the tree), made at WeChat as a permanent QR code
(bot.services.accounts.make_scene: an existing one is reused, never made twice). The letter
prints the URL WeChat returned for that code as a QR image (segno, a data: PNG): scanning it
follows the account and binds the scanner to that respondent.

An account without an AppSecret cannot have codes made by huifang: its scenes are stored
without a code, and those letters are refused, saying why, rather than printed with a code
that would bind nobody.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx
import segno
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.wechat.api import LocalTokenStore, TokenStore, WeChatApi
from bot.channels.wechat.webhook import AccountKeys
from bot.dispatch.sender import SendResult
from bot.services.accounts import AccountError, QrMaker, make_scene
from bot.services.audit import record_admin_action
from bot.services.catalog import FlowCache
from bot.services.staff import StaffPrincipal
from storage.db import Database
from storage.models import Organisation
from storage.repositories.letter_recipients import letter_recipients
from storage.repositories.wechat_accounts import WeChatAccountRepository
from storage.secrets import SecretBox

MAX_LETTERS = 200  # one WeChat call each for new codes: a batch a person can print and post

NO_ACCOUNT = "所属机构没有微信公众号，无法生成二维码 the organisation has no WeChat account: no QR code can be made"
NO_SECRET = (
    "公众号 {account} 没有配置 AppSecret，无法生成二维码，此信函不能打印 "
    "account {account} has no AppSecret: no QR code can be made, this letter cannot be printed"
)


@dataclass(frozen=True, slots=True)
class LetterFilter:
    category: str | None = None
    tag: str | None = None
    not_following: bool = True


@dataclass(frozen=True, slots=True)
class Letter:
    respondent_id: int
    name: str | None
    organisation_name: str
    account: str | None
    scene: str | None
    qr_url: str | None  # what the QR code says: WeChat's URL for the permanent code
    qr_image: str | None  # a data: URI of the code as PNG
    problem: str | None  # why this letter cannot be printed


@dataclass(frozen=True, slots=True)
class LetterBatch:
    letters: list[Letter]
    matching: int  # how many match the filter in all (letters holds at most MAX_LETTERS)

    @property
    def printable(self) -> list[Letter]:
        return [x for x in self.letters if x.problem is None]

    @property
    def refused(self) -> list[Letter]:
        return [x for x in self.letters if x.problem is not None]


def qr_image(content: str) -> str:
    """A PNG data: URI of `content` as a QR code, large enough to scan from paper (the CSP
    allows data: images; no file is written)."""
    return segno.make(content, error="m", micro=False).png_data_uri(scale=8, border=4)


def wechat_qr_maker(http: httpx.AsyncClient, tokens: TokenStore | None, base_url: str) -> QrMaker:
    """Makes permanent QR codes at WeChat with the app's HTTP client and token store."""
    # Without Redis (tokens None) a store of its own: the stable-token endpoint hands out
    # the token already in use rather than retiring another process's.
    store = tokens or LocalTokenStore()

    async def make(keys: AccountKeys, scene: str) -> SendResult:
        api = WeChatApi(keys, http=http, tokens=store, base_url=base_url)
        # Permanent: letters outlive the 30 days a temporary code lasts.
        return await api.create_qr_scene(scene, permanent=True)

    return make


async def count_recipients(s: AsyncSession, me: StaffPrincipal, wanted: LetterFilter) -> int:
    _, total = await letter_recipients(
        s, me.scope, category=wanted.category, tag=wanted.tag, not_following=wanted.not_following, limit=0
    )
    return total


def _account_of(org: Organisation, accounts: Mapping[int, str]) -> str | None:
    for part in reversed(org.path.strip("/").split("/")):
        if part and (found := accounts.get(int(part))) is not None:
            return found
    return None


async def make_letters(
    db: Database,
    me: StaffPrincipal,
    wanted: LetterFilter,
    *,
    box: SecretBox,
    make_qr: QrMaker,
    flows: FlowCache,
    now: datetime,
    env: Mapping[str, str] | None = None,
) -> LetterBatch:
    """The letters for the respondents `wanted` selects in `me`'s scope (at most
    MAX_LETTERS), their scenes and codes made where missing. Each code is made outside any
    transaction (a call to WeChat); the batch is audited once."""
    async with db.transaction() as s:
        people, total = await letter_recipients(
            s, me.scope, category=wanted.category, tag=wanted.tag, not_following=wanted.not_following,
            limit=MAX_LETTERS,
        )  # fmt: skip
        accounts: dict[int, str] = {}
        for row in sorted(await WeChatAccountRepository(s).list(), key=lambda a: a.name):
            if row.organisation_id is not None:
                accounts.setdefault(row.organisation_id, row.name)
        chosen = [(p.id, p.name, p.category, o.name, _account_of(o, accounts)) for p, o in people]
    letters: list[Letter] = []
    for rid, name, category, org_name, account in chosen:
        if account is None:
            letters.append(Letter(rid, name, org_name, None, None, None, None, NO_ACCOUNT))
            continue
        try:
            made = await make_scene(
                db, box=box, account=account, category=category, respondent_id=rid,
                make_qr=make_qr, flows=flows, now=now, env=env,
            )  # fmt: skip
        except AccountError as exc:
            letters.append(Letter(rid, name, org_name, account, None, None, None, str(exc)))
            continue
        if made.ticket is None or not made.url:
            letters.append(
                Letter(rid, name, org_name, account, made.scene, None, None, NO_SECRET.format(account=account))
            )
            continue
        letters.append(Letter(rid, name, org_name, account, made.scene, made.url, qr_image(made.url), None))
    batch = LetterBatch(letters, total)
    async with db.transaction() as s:
        await record_admin_action(
            s, actor=me, action="qr_letters_made", subject_type="respondents", subject_id=me.organisation_code,
            data={
                "filter": {"category": wanted.category, "tag": wanted.tag, "not_following": wanted.not_following},
                "letters": len(batch.printable), "refused": len(batch.refused), "matching": total,
            },
            now=now,
        )  # fmt: skip
    return batch
