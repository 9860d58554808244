"""What WeChat did not send is refused with the right status, logged, and changes nothing."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from storage.repositories.respondents import RespondentRepository
from tests.channels.wechat.wechat_app import (
    Follower,
    WeChatApp,
    _now,
    add_account,
    running_app,
    settings_for,
)
from tests.channels.wechat.wechat_messages import (
    AES_KEY,
    GH_ID,
    OTHER_AES_KEY,
    TOKEN,
    message_xml,
    safe_request,
    sign,
    ts,
)

NOTHING = {"inbound_messages": 0, "respondents": 0, "survey_sessions": 0, "answers": 0, "audit_log": 0}


def subscribe_xml(openid: str = "o-attacker") -> bytes:
    return message_xml(
        ToUserName=GH_ID, FromUserName=openid, CreateTime=int(_now().timestamp()),
        MsgType="event", Event="subscribe", EventKey="qrscene_c:humanitarian_aid",
    )  # fmt: skip


async def refused(wx: WeChatApp, status: int, *, account: str = "main", **kwargs) -> str:
    response = await wx.client.post(f"/wechat/{account}", **kwargs)
    assert response.status_code == status, (response.status_code, response.text)
    assert await wx.counts() == NOTHING
    return response.text


async def test_a_wrong_signature_is_403_logged_and_nothing_is_stored(
    db_url: str, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        query, body = safe_request(subscribe_xml(), at=_now())
        with caplog.at_level(logging.WARNING, logger="bot.channels.wechat.route"):
            await refused(wx, 403, params={**query, "signature": sign("not-the-token", query["timestamp"], "1")}, content=body)
        assert "403" in caplog.text and "bad signature" in caplog.text
        await refused(wx, 403, params={**query, "msg_signature": "0" * 40}, content=body)
        missing = {k: v for k, v in query.items() if k not in ("signature", "msg_signature")}
        await refused(wx, 403, params=missing, content=body)
        # The same request, correctly signed, goes through: the refusals were about the signature.
        assert (await Follower(wx, "o-attacker").post((query, body))).status_code == 200


async def test_an_unknown_account_is_404_and_nothing_is_stored(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        query, body = safe_request(subscribe_xml(), at=_now())
        await refused(wx, 404, account="nobody", params=query, content=body)


async def test_an_old_timestamp_is_refused_as_a_replay(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url, wechat_replay_window_s=60)) as wx:
        query, body = safe_request(subscribe_xml(), at=_now() - timedelta(seconds=120))
        assert "replay" in await refused(wx, 403, params=query, content=body)


async def test_bodies_over_the_cap_are_413_whether_declared_or_streamed(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url, wechat_max_body=2048)) as wx:
        query, _ = safe_request(subscribe_xml(), at=_now())
        big = b"<xml>" + b"x" * 4096 + b"</xml>"
        await refused(wx, 413, params=query, content=big)

        async def chunks():  # no Content-Length: the cap applies to what is read
            for _ in range(8):
                yield b"x" * 1024

        await refused(wx, 413, params=query, content=chunks())


async def test_malformed_or_hostile_xml_is_400_never_500(db_url: str, redis_url: str) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        # A safe-mode account refuses plaintext before reading it: the parser is reached
        # through a plaintext account.
        await add_account(wx.db, name="plain", safe=False)
        at = _now()
        plain = {"signature": sign(TOKEN, ts(at), "5"), "timestamp": ts(at), "nonce": "5"}
        for body in (
            b"<xml><ToUserName>gh",  # truncated
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>',
            b"<xml><ToUserName>\x01</ToUserName></xml>",
            b"not xml at all",
        ):
            await refused(wx, 400, account="plain", params=plain, content=body)
        # Encrypted for another account's key: decrypts to garbage or the wrong AppId.
        query, body = safe_request(subscribe_xml(), aes_key=OTHER_AES_KEY, at=at)
        await refused(wx, 400, params=query, content=body)
        query, body = safe_request(subscribe_xml(), app_id="wx-some-other-app", at=at)
        await refused(wx, 400, params=query, content=body)
        assert AES_KEY != OTHER_AES_KEY


async def test_an_account_with_a_broken_key_in_the_environment_is_503_not_500(
    db_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUIFANG_WECHAT_MAIN_AES_KEY", "too-short")
    async with running_app(settings_for(db_url, redis_url)) as wx:
        query, body = safe_request(subscribe_xml(), at=_now())
        await refused(wx, 503, params=query, content=body)


async def test_a_token_from_the_environment_wins_over_the_stored_one(
    db_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUIFANG_WECHAT_MAIN_TOKEN", "rotated-token")
    async with running_app(settings_for(db_url, redis_url)) as wx:
        at = _now()
        stored = {"signature": sign(TOKEN, ts(at), "7"), "timestamp": ts(at), "nonce": "7", "echostr": "abc"}
        assert (await wx.client.get("/wechat/main", params=stored)).status_code == 403
        rotated = {**stored, "signature": sign("rotated-token", ts(at), "7")}
        response = await wx.client.get("/wechat/main", params=rotated)
        assert response.status_code == 200 and response.text == "abc"


async def test_a_safe_mode_account_refuses_a_plaintext_body_signed_only_in_the_url(
    db_url: str, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        at = _now()
        # A captured URL (its signature covers token, timestamp and nonce only) and a body
        # of the attacker's choosing: refused, although the signature is right.
        plain = {"signature": sign(TOKEN, ts(at), "9"), "timestamp": ts(at), "nonce": "9"}
        with caplog.at_level(logging.WARNING, logger="bot.channels.wechat.route"):
            await refused(wx, 403, params=plain, content=subscribe_xml())
            await refused(wx, 403, params={**plain, "encrypt_type": "raw"}, content=subscribe_xml())
        assert "plaintext refused in safe mode" in caplog.text
        assert "o-attacker" not in caplog.text


async def test_a_plaintext_account_refuses_a_used_timestamp_and_nonce_with_another_message(
    db_url: str, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(settings_for(db_url, redis_url), account=False) as wx:
        await add_account(wx.db, name="plain", safe=False)
        who = Follower(wx, "o-plain-replay", safe=False, account="plain")
        query, body = who.event("subscribe", "qrscene_c:humanitarian_aid")
        first = await who.post((query, body))
        assert first.status_code == 200
        before = await wx.counts()

        # WeChat's retry: the same message under the same timestamp and nonce gets the same
        # reply (its CreateTime is the time of answering, which may have moved a second).
        again = await who.post((query, body))
        stamp = re.compile(r"<CreateTime>\d+</CreateTime>")
        assert (again.status_code, stamp.sub("", again.text)) == (200, stamp.sub("", first.text))

        # Another message (here an unsubscribe) under the captured timestamp and nonce.
        _, forged = who.event("unsubscribe")
        with caplog.at_level(logging.WARNING, logger="bot.channels.wechat.route"):
            response = await who.post((query, forged))
        assert response.status_code == 403
        assert "replayed timestamp and nonce" in caplog.text and "o-plain-replay" not in caplog.text
        assert await wx.counts() == before
        async with wx.db.transaction() as s:
            person = await RespondentRepository(s).by_identity("wechat", "plain", who.openid)
        assert person is not None and person.unreachable_at is None


async def test_a_sender_id_longer_than_wechat_makes_is_400_and_neither_it_nor_the_text_is_logged(
    db_url: str, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(settings_for(db_url, redis_url)) as wx:
        openid = "o" + "Z" * 199  # longer than the column (128) and than any openid
        xml = message_xml(
            ToUserName=GH_ID, FromUserName=openid, CreateTime=int(_now().timestamp()),
            MsgType="text", Content="秘密的回答", MsgId=5,
        )  # fmt: skip
        query, body = safe_request(xml, at=_now())
        with caplog.at_level(logging.DEBUG):
            text = await refused(wx, 400, params=query, content=body)
        assert "bad FromUserName" in caplog.text
        for secret in (openid[:40], "秘密的回答"):
            assert secret not in caplog.text and secret not in text


async def test_a_plaintext_request_is_503_while_the_replay_guard_cannot_answer(
    db_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Unavailable:
        def __init__(self, **_: object) -> None: ...

        async def admit(self, account: str, timestamp: str, nonce: str, fingerprint: str) -> bool:
            raise ConnectionError("Redis is away")

    # The container builds the guard (Redis or memory); make both kinds unable to answer.
    monkeypatch.setattr("bot.container.MemoryReplayGuard", Unavailable)
    monkeypatch.setattr("bot.container.RedisReplayGuard", lambda redis, **kw: Unavailable())
    async with running_app(settings_for(db_url, redis_url), account=False) as wx:
        await add_account(wx.db, name="plain", safe=False)
        query, body = Follower(wx, "o-plain", safe=False, account="plain").wrap(subscribe_xml("o-plain"))
        # Fail closed, and WeChat delivers again later.
        await refused(wx, 503, account="plain", params=query, content=body)
