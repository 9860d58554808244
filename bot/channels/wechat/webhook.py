"""Verify, decrypt and parse what WeChat posts to an Official Account's webhook.

Pure functions: no web framework, no database, no clock of their own (callers pass `now`).
Every refusal is a `WeChatRequestError` carrying the HTTP status to answer with; nothing else
escapes `verify_url` or `parse_request`.

Signatures are computed here the way wechatpy's `WeChatSigner` does (SHA-1 over the sorted
byte strings, no separator) and compared with `hmac.compare_digest`, because wechatpy's own
`check_signature` and `WeChatCrypto.decrypt_message` compare with `==`. Decryption is done
here too (AES-256-CBC via wechatpy's `WeChatCipher`), because wechatpy trusts the PKCS#7
padding byte and the length prefix and fails with assorted exception types on garbage.
Replies are encrypted with wechatpy's `WeChatCrypto.encrypt_message`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.crypto.base import WeChatCipher

from bot.channels.base import Inbound, clip_text, delivery_key, storable

CHANNEL = "wechat"
SUCCESS = "success"  # the body that tells WeChat "received, do not retry, no reply"

MAX_BODY_BYTES = 64 * 1024
REPLAY_WINDOW_S = 300

# XML 1.0 forbids these code points anywhere in a document; surrogates and U+FFFE/U+FFFF
# cannot be encoded or are non-characters.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_DECLARATIONS = (b"<!doctype", b"<!entity")
_ECHOSTR = re.compile(r"[\x21-\x7e]{1,256}")
_DIGITS = re.compile(r"[0-9]{1,12}")  # Unix seconds
_MSG_ID = re.compile(r"[0-9]{1,24}")  # a 64-bit integer
# openids are 28 characters of these, original ids "gh_" and 12 hex digits; the docs'
# examples ("toUser", "fromUser") fit too. Anything else is not from WeChat, and never
# reaches a column, a key or a log line.
_WECHAT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BLOCK = 32  # WeChat pads to 32 bytes (PKCS#7 with a 32-byte block), not AES's 16


class WeChatRequestError(Exception):
    """The request is refused; answer with `status` and nothing else."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AccountKeys:
    """One Official Account's webhook and API credentials.

    `aes_key` is the 43-character EncodingAESKey; None when the account runs in plaintext
    mode only. `app_secret` is needed only to call the API.
    """

    name: str
    app_id: str
    token: str
    aes_key: str | None = None
    app_secret: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.app_id or not self.token:
            raise ValueError("AccountKeys needs a name, an app_id and a token")
        if self.aes_key is not None:
            _aes_key_bytes(self.aes_key)  # a misconfigured key fails at startup, not per message

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return f"AccountKeys(name={self.name!r}, app_id={self.app_id!r})"


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """One webhook delivery, understood.

    `inbound` is None for events the bot does not act on (menu links, location reports,
    template-send receipts…): answer SUCCESS and record nothing.
    """

    inbound: Inbound | None
    encrypted: bool
    to_user: str  # the account's original id (gh_…): the reply comes from here
    from_user: str  # the respondent's openid: the reply goes there
    msg_id: str | None  # None for events
    msg_type: str
    event: str | None = None
    # What this delivery is, sender included: "msg:<openid>:<MsgId>" or
    # "evt:<openid>:<CreateTime>:<Event>". WeChat's retries carry the same identity.
    identity: str = ""


def verify_url(
    keys: AccountKeys,
    signature: str | None,
    timestamp: str | None,
    nonce: str | None,
    echostr: str | None,
    now: datetime,
    *,
    replay_window_s: int = REPLAY_WINDOW_S,
) -> str:
    """Answer WeChat's GET check of the server URL: return `echostr` to echo as plain text.

    Official Accounts sign this check with the plain signature even in safe mode.
    """
    _check_plain_signature(keys, signature, timestamp, nonce)
    _check_fresh(timestamp, now, replay_window_s)
    if echostr is None or not _ECHOSTR.fullmatch(echostr):
        raise WeChatRequestError(400, "bad echostr")
    return echostr


def parse_request(
    keys: AccountKeys,
    *,
    query: Mapping[str, Any],
    body: bytes,
    now: datetime,
    max_body: int = MAX_BODY_BYTES,
    replay_window_s: int = REPLAY_WINDOW_S,
) -> ParsedRequest:
    """Verify and parse one POSTed message or event; raises only `WeChatRequestError`."""
    try:
        return _parse_request(keys, query, body, now, max_body, replay_window_s)
    except WeChatRequestError:
        raise
    except Exception as exc:  # noqa: BLE001 — hostile input must never become a 500
        raise WeChatRequestError(400, f"malformed request ({type(exc).__name__})") from exc


def build_reply(
    keys: AccountKeys, parsed: ParsedRequest, text: str, *, now: datetime, nonce: str
) -> str:
    """The passive text reply to `parsed`, encrypted when the request was.

    Raises ValueError for an empty text: answer SUCCESS instead, since WeChat shows
    "该公众号暂时无法提供服务" for a reply it cannot use.
    """
    content = _XML_ILLEGAL.sub("", text)
    if not content.strip():
        raise ValueError("a passive reply needs some text; answer SUCCESS instead")
    timestamp = str(int(now.timestamp()))
    xml = (
        "<xml>"
        f"<ToUserName>{_cdata(parsed.from_user)}</ToUserName>"
        f"<FromUserName>{_cdata(parsed.to_user)}</FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    )
    if not parsed.encrypted:
        return xml
    if keys.aes_key is None:
        raise ValueError(f"account {keys.name!r} got an encrypted request but has no aes_key")
    crypto = WeChatCrypto(keys.token, keys.aes_key, keys.app_id)
    return crypto.encrypt_message(xml, nonce, timestamp)


# --- verification ---------------------------------------------------------------------


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 hex of the sorted parts concatenated (as wechatpy does)."""
    data = sorted(p.encode("utf-8") for p in parts)
    return hashlib.sha1(b"".join(data)).hexdigest()


def _signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))


def _check_plain_signature(
    keys: AccountKeys, signature: str | None, timestamp: str | None, nonce: str | None
) -> None:
    if not all(isinstance(part, str) for part in (signature, timestamp, nonce)):
        raise WeChatRequestError(403, "missing signature")
    assert signature is not None and timestamp is not None and nonce is not None
    if not _signature_matches(sign(keys.token, timestamp, nonce), signature):
        raise WeChatRequestError(403, "bad signature")


def _check_fresh(timestamp: str | None, now: datetime, window_s: int) -> None:
    if not isinstance(timestamp, str) or not _DIGITS.fullmatch(timestamp):
        raise WeChatRequestError(403, "bad timestamp")
    if abs(now.timestamp() - int(timestamp)) > window_s:
        raise WeChatRequestError(403, "replay")


# --- parsing --------------------------------------------------------------------------


def _parse_request(
    keys: AccountKeys,
    query: Mapping[str, Any],
    body: bytes,
    now: datetime,
    max_body: int,
    replay_window_s: int,
) -> ParsedRequest:
    timestamp, nonce = query.get("timestamp"), query.get("nonce")
    if not isinstance(timestamp, str) or not isinstance(nonce, str):
        raise WeChatRequestError(403, "missing signature")
    encrypted = query.get("encrypt_type") == "aes"
    signature, msg_signature = query.get("signature"), query.get("msg_signature")
    # Safe mode always carries msg_signature, which covers the ciphertext; the plain
    # signature comes along too and, when present, must be right as well.
    if not encrypted or signature is not None:
        _check_plain_signature(keys, signature, timestamp, nonce)
    if encrypted and not isinstance(msg_signature, str):
        raise WeChatRequestError(403, "missing msg_signature")
    # The URL signature never covers the body: with an EncodingAESKey configured only the
    # encrypted envelope, checked with msg_signature, is believed (compatible mode sends it too).
    if keys.aes_key is not None and not encrypted:
        raise WeChatRequestError(403, "plaintext refused in safe mode")
    _check_fresh(timestamp, now, replay_window_s)
    if len(body) > max_body:
        raise WeChatRequestError(413, "body too large")

    message = _parse_xml(body)
    if encrypted:
        assert isinstance(msg_signature, str)
        message = _decrypt_envelope(keys, message, timestamp, nonce, msg_signature)
    return _to_parsed(keys, message, encrypted, now)


def _parse_xml(raw: bytes) -> dict[str, Any]:
    lowered = raw.lower()
    if any(d in lowered for d in _DECLARATIONS):
        raise WeChatRequestError(400, "DTD or entity declaration")
    try:
        # Keep the respondent's spaces: stripping is done per field below.
        doc = xmltodict.parse(raw, disable_entities=True, strip_whitespace=False)
    except Exception as exc:  # expat errors, ValueError from the entity guard, encodings…
        raise WeChatRequestError(400, "malformed XML") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("xml"), dict):
        raise WeChatRequestError(400, "not a WeChat message")
    return doc["xml"]


def _decrypt_envelope(
    keys: AccountKeys, envelope: dict[str, Any], timestamp: str, nonce: str, msg_signature: str
) -> dict[str, Any]:
    if keys.aes_key is None:
        raise WeChatRequestError(400, "encrypted request but no aes_key configured")
    encrypt = envelope.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise WeChatRequestError(400, "no Encrypt element")
    if not _signature_matches(sign(keys.token, timestamp, nonce, encrypt), msg_signature):
        raise WeChatRequestError(403, "bad msg_signature")
    return _parse_xml(_decrypt(keys, encrypt))


def _aes_key_bytes(aes_key: str) -> bytes:
    try:
        key = base64.b64decode(aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("aes_key must be the 43-character EncodingAESKey") from exc
    if len(key) != 32:
        raise ValueError("aes_key must be the 43-character EncodingAESKey")
    return key


def _decrypt(keys: AccountKeys, encrypt: str) -> bytes:
    """random(16) + length(4, big-endian) + xml + app_id, PKCS#7-padded to 32 bytes."""
    assert keys.aes_key is not None
    try:
        ciphertext = base64.b64decode(encrypt, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WeChatRequestError(400, "Encrypt is not base64") from exc
    if not ciphertext or len(ciphertext) % 16:
        raise WeChatRequestError(400, "bad ciphertext length")
    plain = WeChatCipher(_aes_key_bytes(keys.aes_key)).decrypt(ciphertext)
    pad = plain[-1]
    if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise WeChatRequestError(400, "bad padding")
    content = plain[16:-pad]
    if len(content) < 4:
        raise WeChatRequestError(400, "bad decrypted length")
    (xml_len,) = struct.unpack(">I", content[:4])
    if xml_len > len(content) - 4:
        raise WeChatRequestError(400, "bad decrypted length")
    xml, app_id = content[4 : 4 + xml_len], content[4 + xml_len :]
    if not hmac.compare_digest(app_id, keys.app_id.encode("utf-8")):
        raise WeChatRequestError(400, "wrong AppId")
    return xml


def _text(
    message: dict[str, Any], name: str, *, required: bool = False, strip: bool = True
) -> str | None:
    """A text element; identifiers are stripped, the respondent's own words are not."""
    value = message.get(name)
    if value is None:
        if required:
            raise WeChatRequestError(400, f"not a WeChat message (no {name})")
        return None
    if not isinstance(value, str):  # nested elements, attributes or repeated elements
        raise WeChatRequestError(400, f"not a WeChat message ({name} is not text)")
    return value.strip() if strip else value


def _to_parsed(
    keys: AccountKeys, message: dict[str, Any], encrypted: bool, now: datetime
) -> ParsedRequest:
    to_user = _text(message, "ToUserName", required=True)
    from_user = _text(message, "FromUserName", required=True)
    create_time = _text(message, "CreateTime", required=True)
    msg_type = _text(message, "MsgType", required=True)
    assert to_user is not None and from_user is not None and msg_type is not None
    if not _WECHAT_ID.fullmatch(to_user):
        raise WeChatRequestError(400, "not a WeChat message (bad ToUserName)")
    if not _WECHAT_ID.fullmatch(from_user):
        raise WeChatRequestError(400, "not a WeChat message (bad FromUserName)")
    if create_time is None or not _DIGITS.fullmatch(create_time):
        raise WeChatRequestError(400, "not a WeChat message (bad CreateTime)")
    platform_at = _platform_time(int(create_time))

    def parsed(found: Inbound | None, identity: str, **extra: Any) -> ParsedRequest:
        return ParsedRequest(
            found, encrypted=encrypted, to_user=to_user, from_user=from_user,
            identity=identity, **extra,
        )  # fmt: skip

    def inbound(kind: str, delivery_key: str, **extra: Any) -> Inbound:
        return Inbound(
            channel=CHANNEL,
            account=keys.name,
            external_id=from_user,
            kind=kind,  # type: ignore[arg-type]
            delivery_key=delivery_key,
            at=now,
            platform_at=platform_at,
            **extra,
        )

    if msg_type.lower() == "event":
        event = _text(message, "Event", required=True)
        assert event is not None
        identity = f"evt:{from_user}:{create_time}:{event}"
        key = delivery_key(CHANNEL, keys.name, identity)
        event_key = _text(message, "EventKey") or None
        # Only these events act; menu links, location reports, send receipts… are ignored.
        found: Inbound | None = None
        match event.lower():
            case "subscribe":
                scene = None
                if event_key and event_key.startswith("qrscene_"):
                    scene = event_key[len("qrscene_") :] or None
                found = inbound("start", key, start_payload=scene)
            case "scan" | "click":
                found = inbound("start", key, start_payload=event_key)
            case "unsubscribe":
                found = inbound("unreachable", key)
        return parsed(found, identity, msg_id=None, msg_type="event", event=event)

    msg_id = _text(message, "MsgId", required=True)
    if msg_id is None or not _MSG_ID.fullmatch(msg_id):
        raise WeChatRequestError(400, "not a WeChat message (bad MsgId)")
    # MsgIds are not unique across senders: the sender is part of the key.
    identity = f"msg:{from_user}:{msg_id}"
    key = delivery_key(CHANNEL, keys.name, identity)
    kind = msg_type.lower()
    if kind == "text":
        found = inbound("text", key, text=_said(_text(message, "Content", strip=False) or ""))
    elif kind == "voice" and (recognition := (_text(message, "Recognition") or "").strip()):
        found = inbound("text", key, text=_said(recognition))
    else:  # image, location, link, video, shortvideo, file, emoticon, untranscribed voice…
        found = inbound("unsupported", key)
    return parsed(found, identity, msg_id=msg_id, msg_type=kind)


def _platform_time(seconds: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):  # past year 9999: the record says "unknown"
        return None


def _said(text: str) -> str:
    # The XML parser already refuses NUL and surrogates; checked again since the text is
    # stored as it is.
    if not storable(text):
        raise WeChatRequestError(400, "not a WeChat message (unstorable text)")
    return clip_text(text)


def _cdata(value: str) -> str:
    """Wrap in CDATA so that no text, not even "]]>", can end the section early."""
    return "<![CDATA[" + _XML_ILLEGAL.sub("", value).replace("]]>", "]]]]><![CDATA[>") + "]]>"
