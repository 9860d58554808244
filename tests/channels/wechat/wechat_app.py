"""The whole app on a real database, and followers who talk to it the way WeChat does:
signed (and in safe mode encrypted) POSTs to /wechat/<account>, replies decrypted and checked."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import xmltodict
from fastapi import FastAPI
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from bot.app import create_app
from bot.settings import Settings
from storage.db import Database
from storage.models import Answer, AuditEntry, InboundMessage, Respondent, SurveySession
from storage.repositories.answers import AnswerRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from storage.repositories.wechat_accounts import WeChatAccountRepository
from tests.channels.wechat.wechat_messages import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    GH_ID,
    TOKEN,
    message_xml,
    safe_request,
    sign,
)

ACCOUNT = "main"
SUCCESS = "success"

_msg_ids = itertools.count(int(time.time() * 1000) * 1000)  # unique per test run
_clock = itertools.count(int(time.time()) - 3600)  # CreateTime: one second apart per message
# WeChat signs each push with a new nonce; a used (timestamp, nonce) with another message is a replay.
_nonces = itertools.count(1)


def settings_for(db_url: str, redis_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=db_url, redis_url=redis_url, **overrides)


@dataclass
class WeChatApp:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def db(self) -> Database:
        return self.app.state.db

    async def count(self, model: type) -> int:
        async with self.db.transaction() as s:
            return await s.scalar(select(func.count()).select_from(model))

    async def counts(self) -> dict[str, int]:
        """Rows a delivery could have written."""
        return {
            m.__tablename__: await self.count(m)
            for m in (InboundMessage, Respondent, SurveySession, Answer, AuditEntry)
        }

    async def respondent(self, openid: str) -> Respondent | None:
        async with self.db.transaction() as s:
            return await RespondentRepository(s).by_identity("wechat", ACCOUNT, openid)

    async def sessions(self, openid: str) -> list[SurveySession]:
        person = await self.respondent(openid)
        assert person is not None, f"no respondent for {openid}"
        async with self.db.transaction() as s:
            return await SessionRepository(s).list_for_respondent(person.id)

    async def answers(self, openid: str) -> dict[str, Any]:
        """Answers of the follower's only session, by question."""
        [session] = await self.sessions(openid)
        async with self.db.transaction() as s:
            return {a.question_id: a.value for a in await AnswerRepository(s).for_session(session.id)}

    async def answer_rows(self, openid: str) -> list[Answer]:
        [session] = await self.sessions(openid)
        async with self.db.transaction() as s:
            return await AnswerRepository(s).for_session(session.id)

    async def audit(self, action: str) -> list[AuditEntry]:
        async with self.db.transaction() as s:
            rows = await s.scalars(select(AuditEntry).where(AuditEntry.action == action))
            return list(rows)


async def add_account(db: Database, *, name: str = ACCOUNT, safe: bool = True) -> None:
    async with db.transaction() as s:
        await WeChatAccountRepository(s).create(
            name=name, app_id=APP_ID, token=TOKEN, aes_key=AES_KEY if safe else None,
            app_secret=APP_SECRET, now=_now(),
        )  # fmt: skip


@asynccontextmanager
async def running_app(settings: Settings, *, account: bool = True) -> AsyncIterator[WeChatApp]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        if account:
            await add_account(app.state.db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://huifang.test") as client:
            yield WeChatApp(app, client)


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


Request = tuple[dict[str, str], bytes]


@dataclass
class Follower:
    """One WeChat user of the account; builds what WeChat would post for them."""

    wx: WeChatApp
    openid: str
    safe: bool = True
    account: str = ACCOUNT

    # --- what WeChat posts --------------------------------------------------------------

    def _fields(self, msg_type: str, **fields: str | int) -> bytes:
        return message_xml(
            ToUserName=GH_ID, FromUserName=self.openid, CreateTime=next(_clock),
            MsgType=msg_type, **fields,
        )  # fmt: skip

    def text(self, content: str) -> Request:
        # As WeChat does: a "]]>" in the text ends one CDATA section and starts another.
        cdata_safe = content.replace("]]>", "]]]]><![CDATA[>")
        return self.wrap(self._fields("text", Content=cdata_safe, MsgId=next(_msg_ids)))

    def voice(self, recognition: str | None) -> Request:
        extra: dict[str, str | int] = {"MediaId": "media-1", "Format": "amr"}
        if recognition is not None:
            extra["Recognition"] = recognition
        return self.wrap(self._fields("voice", **extra, MsgId=next(_msg_ids)))

    def image(self) -> Request:
        return self.wrap(
            self._fields("image", PicUrl="http://mmbiz.qpic.cn/x.jpg", MediaId="m-2", MsgId=next(_msg_ids))
        )

    def event(self, event: str, key: str | None = None) -> Request:
        extra: dict[str, str | int] = {"Event": event}
        if key is not None:
            extra["EventKey"] = key
        return self.wrap(self._fields("event", **extra))

    def wrap(self, xml: bytes) -> Request:
        """Signed now (the replay window counts from the query's timestamp)."""
        now = _now()
        if self.safe:
            return safe_request(xml, at=now)
        ts, nonce = str(int(now.timestamp())), str(next(_nonces))
        return {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}, xml

    # --- talking ------------------------------------------------------------------------

    async def post(self, request: Request, *, client: httpx.AsyncClient | None = None) -> httpx.Response:
        query, body = request
        return await (client or self.wx.client).post(f"/wechat/{self.account}", params=query, content=body)

    async def send(self, request: Request, *, twice: bool = True) -> str | None:
        """Deliver (and, like WeChat retrying, deliver again); the reply's text, or None
        for "success". Both deliveries must get the same reply."""
        first = read_reply(await self.post(request), safe=self.safe)
        if twice:
            again = read_reply(await self.post(request), safe=self.safe)
            assert again == first, f"a redelivery got another reply:\n{first!r}\n{again!r}"
        return first

    async def say(self, content: str, *, twice: bool = True) -> str:
        reply = await self.send(self.text(content), twice=twice)
        assert reply is not None, f"no reply to {content!r}"
        return reply


def read_reply(response: httpx.Response, *, safe: bool = True) -> str | None:
    """The text of a passive reply, decrypted and its signature checked; None for "success"."""
    assert response.status_code == 200, (response.status_code, response.text)
    if response.text == SUCCESS:
        return None
    xml = response.text
    if safe:
        envelope = xmltodict.parse(xml)["xml"]
        crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        # Verifies MsgSignature and the AppId inside, as WeChat does.
        xml = crypto.decrypt_message(xml, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    message = xmltodict.parse(xml)["xml"]
    assert message["MsgType"] == "text"
    assert message["FromUserName"] == GH_ID
    return message["Content"]
