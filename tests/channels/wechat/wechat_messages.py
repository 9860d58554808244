"""Builders for what WeChat posts to the webhook, signed and (optionally) encrypted."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat.webhook import AccountKeys, sign

TOKEN = "huifang-test-token"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "test-app-secret"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # a 43-character key
OTHER_AES_KEY = base64.b64encode(bytes(range(100, 132))).decode().rstrip("=")
GH_ID = "gh_0123456789ab"
OPENID = "oUser-openid-123"
NOW = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
NONCE = "1234567890"

PLAIN_KEYS = AccountKeys(name="main", app_id=APP_ID, token=TOKEN, app_secret=APP_SECRET)
SAFE_KEYS = AccountKeys(
    name="main", app_id=APP_ID, token=TOKEN, aes_key=AES_KEY, app_secret=APP_SECRET
)


def ts(at: datetime = NOW) -> str:
    return str(int(at.timestamp()))


def message_xml(**fields: str | int) -> bytes:
    """<xml> with the given elements; strings in CDATA as WeChat sends them."""
    parts = []
    for name, value in fields.items():
        text = str(value) if isinstance(value, int) else f"<![CDATA[{value}]]>"
        parts.append(f"<{name}>{text}</{name}>")
    return ("<xml>" + "".join(parts) + "</xml>").encode("utf-8")


def text_message(content: str = "你好", msg_id: int = 23456789012345678) -> bytes:
    return message_xml(
        ToUserName=GH_ID, FromUserName=OPENID, CreateTime=int(NOW.timestamp()),
        MsgType="text", Content=content, MsgId=msg_id,
    )


def event_message(event: str, event_key: str | None = None) -> bytes:
    fields: dict[str, str | int] = {
        "ToUserName": GH_ID, "FromUserName": OPENID,
        "CreateTime": int(NOW.timestamp()), "MsgType": "event", "Event": event,
    }
    if event_key is not None:
        fields["EventKey"] = event_key
    return message_xml(**fields)


def plain_query(*, token: str = TOKEN, at: datetime = NOW, nonce: str = NONCE) -> dict[str, str]:
    return {
        "signature": sign(token, ts(at), nonce), "timestamp": ts(at),
        "nonce": nonce, "openid": OPENID,
    }


def safe_request(
    xml: bytes, *, aes_key: str = AES_KEY, app_id: str = APP_ID, at: datetime = NOW,
    nonce: str = NONCE,
) -> tuple[dict[str, str], bytes]:
    """What WeChat sends in safe mode: the Encrypt envelope and both signatures."""
    crypto = WeChatCrypto(TOKEN, aes_key, app_id)
    envelope = xmltodict.parse(crypto.encrypt_message(xml.decode("utf-8"), nonce, ts(at)))["xml"]
    return encrypted_envelope(envelope["Encrypt"], at=at, nonce=nonce)


def encrypted_envelope(
    encrypt: str, *, at: datetime = NOW, nonce: str = NONCE
) -> tuple[dict[str, str], bytes]:
    query = {
        **plain_query(at=at, nonce=nonce),
        "encrypt_type": "aes",
        "msg_signature": sign(TOKEN, ts(at), nonce, encrypt),
    }
    body = message_xml(ToUserName=GH_ID, Encrypt=encrypt)
    return query, body
