"""The webhook refuses what WeChat did not send and understands what it did."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime, timedelta

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.crypto.base import WeChatCipher

from bot.channels.wechat.webhook import (
    AccountKeys,
    ParsedRequest,
    WeChatRequestError,
    build_reply,
    parse_request,
    sign,
    verify_url,
)
from tests.channels.wechat.wechat_messages import (
    AES_KEY,
    APP_ID,
    GH_ID,
    NONCE,
    NOW,
    OPENID,
    OTHER_AES_KEY,
    PLAIN_KEYS,
    SAFE_KEYS,
    TOKEN,
    encrypted_envelope,
    event_message,
    message_xml,
    plain_query,
    safe_request,
    text_message,
    ts,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1714550400</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1714550400</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://attacker.example/evil.dtd">
<xml><ToUserName>gh</ToUserName></xml>"""


def parse(body: bytes, query: dict[str, str] | None = None, **kwargs) -> ParsedRequest:
    keys = kwargs.pop("keys", PLAIN_KEYS)
    return parse_request(
        keys, query=plain_query() if query is None else query, body=body,
        now=kwargs.pop("now", NOW), **kwargs,
    )


def refused(body: bytes, query: dict[str, str] | None = None, **kwargs) -> WeChatRequestError:
    with pytest.raises(WeChatRequestError) as caught:
        parse(body, query, **kwargs)
    return caught.value


def refused_safe(request: tuple[dict[str, str], bytes]) -> WeChatRequestError:
    query, body = request
    return refused(body, query, keys=SAFE_KEYS)


# --- signatures, replay, size -----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({}, "missing signature"),
        ({k: v for k, v in plain_query().items() if k != "signature"}, "missing signature"),
        ({**plain_query(), "signature": "0" * 40}, "bad signature"),
        (plain_query(token="someone-elses-token"), "bad signature"),
        ({**plain_query(), "nonce": "tampered"}, "bad signature"),
        ({**plain_query(), "signature": "签名"}, "bad signature"),
    ],
    ids=["no-query", "no-signature", "zeros", "wrong-token", "tampered-nonce", "non-ascii"],
)
def test_bad_or_missing_signature_is_403(query: dict[str, str], reason: str) -> None:
    error = refused(text_message(), query)
    assert (error.status, error.reason) == (403, reason)


@pytest.mark.parametrize("offset_s", [-301, 301, -86400, 86400])
def test_timestamp_outside_the_window_either_way_is_403_replay(offset_s: int) -> None:
    query = plain_query(at=NOW + timedelta(seconds=offset_s))
    error = refused(text_message(), query)
    assert (error.status, error.reason) == (403, "replay")


@pytest.mark.parametrize("offset_s", [-299, 0, 299])
def test_timestamp_inside_the_window_is_accepted(offset_s: int) -> None:
    parsed = parse(text_message(), plain_query(at=NOW + timedelta(seconds=offset_s)))
    assert parsed.inbound is not None and parsed.inbound.text == "你好"


def test_non_numeric_timestamp_is_403() -> None:
    query = {"signature": sign(TOKEN, "soon", NONCE), "timestamp": "soon", "nonce": NONCE}
    error = refused(text_message(), query)
    assert (error.status, error.reason) == (403, "bad timestamp")


def test_body_over_the_limit_is_413() -> None:
    body = text_message("长" * 30_000)  # 90 000 bytes of UTF-8
    assert refused(body).status == 413
    assert refused(text_message("x" * 200), max_body=100).status == 413


# --- hostile or broken XML ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (BILLION_LAUGHS, "DTD or entity declaration"),
        (EXTERNAL_ENTITY, "DTD or entity declaration"),
        (EXTERNAL_DTD, "DTD or entity declaration"),
        (b"<!doctype xml><xml/>", "DTD or entity declaration"),
        # Hidden from the byte check by UTF-16; xmltodict's entity guard still refuses it.
        (BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b"").decode().encode("utf-16"),
         "malformed XML"),
        (text_message("bell\x07"), "malformed XML"),
        (text_message("nul\x00"), "malformed XML"),
        (text_message().replace(b"<![CDATA[\xe4\xbd\xa0\xe5\xa5\xbd]]>", b"&#1;"),
         "malformed XML"),
        (message_xml(ToUserName=GH_ID).replace(b"<![CDATA[", b"").replace(b"]]>", b"&#27;"),
         "malformed XML"),
        (text_message().replace(b"<![CDATA[\xe4\xbd\xa0\xe5\xa5\xbd]]>", b"&#0;"), "malformed XML"),
        (text_message().replace(b"<![CDATA[\xe4\xbd\xa0\xe5\xa5\xbd]]>", b"&#xD800;"),
         "malformed XML"),
        (text_message("\ud800".encode("utf-8", "surrogatepass").decode("latin-1")).replace(
            "\ud800".encode("utf-8", "surrogatepass").decode("latin-1").encode(),
            "\ud800".encode("utf-8", "surrogatepass")), "malformed XML"),
        (text_message()[:-20], "malformed XML"),
        (b"", "malformed XML"),
        (b"\xff\xfe\xfa not xml", "malformed XML"),
        (b'{"MsgType": "text"}', "malformed XML"),
        (b"<foo><bar/></foo>", "not a WeChat message"),
        (b"<xml>just text</xml>", "not a WeChat message"),
        (message_xml(ToUserName=GH_ID, MsgType="text"), "not a WeChat message (no FromUserName)"),
        (text_message().replace(b"<Content><![CDATA[\xe4\xbd\xa0\xe5\xa5\xbd]]></Content>",
                                b"<Content><b>1</b></Content>"),
         "not a WeChat message (Content is not text)"),
        (text_message().replace(b"</xml>", b"<MsgType>image</MsgType></xml>"),
         "not a WeChat message (MsgType is not text)"),
        (text_message().replace(b"<MsgId>23456789012345678</MsgId>", b""),
         "not a WeChat message (no MsgId)"),
        (text_message().replace(b"23456789012345678", b"1e9"),
         "not a WeChat message (bad MsgId)"),
        (text_message().replace(str(int(NOW.timestamp())).encode(), b"yesterday"),
         "not a WeChat message (bad CreateTime)"),
        (event_message("subscribe").replace(b"<Event><![CDATA[subscribe]]></Event>", b""),
         "not a WeChat message (no Event)"),
    ],
    ids=[
        "billion-laughs", "external-entity", "external-dtd", "lowercase-doctype",
        "utf16-entities", "control-char", "nul", "char-ref-content", "char-ref-escape",
        "char-ref-nul", "char-ref-surrogate", "utf8-surrogate", "truncated",
        "empty", "not-utf8", "json", "wrong-root", "flat-root", "no-from", "nested-content",
        "repeated-element", "no-msgid", "bad-msgid", "bad-createtime", "no-event",
    ],
)
def test_hostile_or_malformed_xml_is_400(body: bytes, reason: str) -> None:
    error = refused(body)
    assert (error.status, error.reason) == (400, reason)


def _users(to_user: str, from_user: str) -> bytes:
    return message_xml(
        ToUserName=to_user, FromUserName=from_user, CreateTime=int(NOW.timestamp()),
        MsgType="text", Content="你好", MsgId=1,
    )  # fmt: skip


@pytest.mark.parametrize(
    "user",
    ["o" * 65, "o" * 129, "o user", "o\u7528\u6237", "o;drop", "o.x", "o/../x", "o\tx", "o:x"],
    ids=["65", "129", "space", "han", "semicolon", "dot", "path", "tab", "colon"],
)
def test_user_names_other_than_wechat_ids_are_400(user: str) -> None:
    """Real openids are 28 characters of [A-Za-z0-9_-]; original ids are gh_ and 12 hex."""
    error = refused(_users(GH_ID, user))
    assert (error.status, error.reason) == (400, "not a WeChat message (bad FromUserName)")
    assert user not in str(error)
    error = refused(_users(user, OPENID))
    assert (error.status, error.reason) == (400, "not a WeChat message (bad ToUserName)")


@pytest.mark.parametrize(
    ("to_user", "from_user"),
    [("gh_081abfe3962c", "oCT3bjgZ2GysH7vAz9sJK32DHZAs"), ("toUser", "fromUser"),
     ("gh_0123456789ab", "o" * 64), (GH_ID, "oLVPpjqs9BhvzwPj5A-vTYAX3GLc")],
)
def test_wechat_ids_as_wechat_sends_them_are_accepted(to_user: str, from_user: str) -> None:
    parsed = parse(_users(to_user, from_user))
    assert (parsed.to_user, parsed.from_user) == (to_user, from_user)


# --- safe (AES) mode ----------------------------------------------------------------------


def test_safe_mode_message_is_decrypted_and_parsed() -> None:
    query, body = safe_request(text_message("我想参加回访"))
    assert b"\xe5" not in body  # the text travels encrypted only
    parsed = parse(body, query, keys=SAFE_KEYS)
    assert parsed.encrypted is True
    assert parsed.inbound is not None
    assert (parsed.inbound.kind, parsed.inbound.text) == ("text", "我想参加回访")
    assert (parsed.to_user, parsed.from_user) == (GH_ID, OPENID)


def test_safe_mode_without_plain_signature_relies_on_msg_signature() -> None:
    query, body = safe_request(text_message())
    del query["signature"]
    assert parse(body, query, keys=SAFE_KEYS).inbound is not None
    query["msg_signature"] = "0" * 40
    error = refused(body, query, keys=SAFE_KEYS)
    assert (error.status, error.reason) == (403, "bad msg_signature")


def test_a_safe_mode_account_refuses_a_plaintext_body() -> None:
    """The URL signature does not cover the body: with one captured URL anyone could post
    any message for the length of the replay window. Safe mode takes encrypted bodies only."""
    error = refused(text_message("伪造的回答"), plain_query(), keys=SAFE_KEYS)
    assert (error.status, error.reason) == (403, "plaintext refused in safe mode")
    # Also when the query claims encryption some other way, or not at all.
    error = refused(text_message(), {**plain_query(), "encrypt_type": "raw"}, keys=SAFE_KEYS)
    assert error.status == 403
    # The same account still takes the encrypted envelope, as safe and compatible mode send.
    query, body = safe_request(text_message())
    assert parse(body, query, keys=SAFE_KEYS).encrypted


def test_the_message_identity_names_the_sender() -> None:
    assert parse(text_message()).identity == f"msg:{OPENID}:23456789012345678"
    event = parse(event_message("subscribe"))
    assert event.identity == f"evt:{OPENID}:{int(NOW.timestamp())}:subscribe"
    ignored = parse(event_message("VIEW", "https://example.org/"))
    assert ignored.inbound is None and ignored.identity.startswith(f"evt:{OPENID}:")


def test_compatible_mode_body_uses_the_encrypted_copy() -> None:
    """Compatible mode posts plaintext and ciphertext; only the signed ciphertext counts."""
    query, envelope = safe_request(text_message("真的内容"))
    forged_plain = text_message("伪造的内容").replace(b"</xml>", b"")
    body = forged_plain + envelope[len(b"<xml>"):]
    parsed = parse(body, query, keys=SAFE_KEYS)
    assert parsed.inbound is not None and parsed.inbound.text == "真的内容"


def test_safe_mode_refusals() -> None:
    query, body = safe_request(text_message())

    missing = refused_safe(({k: v for k, v in query.items() if k != "msg_signature"}, body))
    assert (missing.status, missing.reason) == (403, "missing msg_signature")

    no_key = refused(body, query, keys=PLAIN_KEYS)
    assert (no_key.status, no_key.reason) == (400, "encrypted request but no aes_key configured")

    no_encrypt = refused_safe((encrypted_envelope("")[0], message_xml(ToUserName=GH_ID)))
    assert (no_encrypt.status, no_encrypt.reason) == (400, "no Encrypt element")

    not_b64 = refused_safe(encrypted_envelope("!!not base64!!"))
    assert (not_b64.status, not_b64.reason) == (400, "Encrypt is not base64")

    short = refused_safe(encrypted_envelope(base64.b64encode(b"x" * 20).decode()))
    assert (short.status, short.reason) == (400, "bad ciphertext length")


def test_encrypted_with_the_wrong_key_is_400() -> None:
    query, body = safe_request(text_message(), aes_key=OTHER_AES_KEY)
    error = refused(body, query, keys=SAFE_KEYS)
    assert error.status == 400
    # Garbage after decryption almost always has bad padding; rarely it gets further.
    assert error.reason in {"bad padding", "bad decrypted length", "wrong AppId", "malformed XML"}


def test_wrong_appid_after_decryption_is_400() -> None:
    query, body = safe_request(text_message(), app_id="wxSOMEONEELSE00000")
    error = refused(body, query, keys=SAFE_KEYS)
    assert (error.status, error.reason) == (400, "wrong AppId")


def _encrypt_raw(plain: bytes) -> str:
    key = base64.b64decode(AES_KEY + "=")
    return base64.b64encode(WeChatCipher(key).encrypt(plain)).decode()


def test_bad_padding_and_lying_length_are_400() -> None:
    xml = text_message()
    content = b"r" * 16 + struct.pack(">I", len(xml)) + xml + APP_ID.encode()
    pad = 32 - len(content) % 32
    bad_padding = content + bytes([7] * (pad - 1)) + bytes([pad])
    error = refused_safe(encrypted_envelope(_encrypt_raw(bad_padding)))
    assert (error.status, error.reason) == (400, "bad padding")

    zero_pad = content + bytes([0]) * pad
    error = refused_safe(encrypted_envelope(_encrypt_raw(zero_pad)))
    assert (error.status, error.reason) == (400, "bad padding")

    lying = b"r" * 16 + struct.pack(">I", 10**6) + xml + APP_ID.encode()
    pad = 32 - len(lying) % 32
    error = refused_safe(encrypted_envelope(_encrypt_raw(lying + bytes([pad]) * pad)))
    assert (error.status, error.reason) == (400, "bad decrypted length")


def test_hostile_xml_inside_the_encryption_is_400() -> None:
    query, body = safe_request(EXTERNAL_ENTITY)
    error = refused(body, query, keys=SAFE_KEYS)
    assert (error.status, error.reason) == (400, "DTD or entity declaration")


def test_account_keys_refuse_a_malformed_aes_key() -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        AccountKeys(name="x", app_id=APP_ID, token=TOKEN, aes_key="too-short")
    assert "secret" not in repr(AccountKeys("x", APP_ID, TOKEN, AES_KEY, "secret"))


# --- what the respondent did ---------------------------------------------------------------


def test_text_message_maps_to_text_inbound() -> None:
    parsed = parse(text_message("  2  "))
    assert parsed.inbound is not None
    inbound = parsed.inbound
    assert (inbound.channel, inbound.account, inbound.external_id) == ("wechat", "main", OPENID)
    assert (inbound.kind, inbound.text) == ("text", "  2  ")
    assert inbound.delivery_key == f"wechat:main:msg:{OPENID}:23456789012345678"
    assert inbound.at == NOW
    assert parsed.msg_id == "23456789012345678"
    assert parsed.encrypted is False


def test_text_past_the_channel_limit_is_kept_cut_to_it() -> None:
    """A long answer is kept (cut), not refused: a refusal would lose it and make WeChat
    show the respondent an error after its retries."""
    from bot.channels.base import MAX_TEXT_CHARS

    parsed = parse(text_message("长" * (MAX_TEXT_CHARS + 1000)))
    assert parsed.inbound is not None and parsed.inbound.text == "长" * MAX_TEXT_CHARS


@pytest.mark.parametrize(
    ("create_time", "platform_at"),
    [
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (253402300799, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (253402300800, None),  # past year 9999: no datetime holds it
        (999999999999, None),
    ],
)
def test_createtime_is_kept_aside_and_our_clock_dates_the_message(
    create_time: int, platform_at: datetime | None
) -> None:
    """The sender controls CreateTime: a message dated 1970 or 9999 must not expire
    surveys or date answers. It is kept as `platform_at`, for the record only."""
    body = text_message().replace(str(int(NOW.timestamp())).encode(), str(create_time).encode())
    parsed = parse(body)
    assert parsed.inbound is not None
    assert (parsed.inbound.at, parsed.inbound.platform_at) == (NOW, platform_at)
    event = event_message("subscribe").replace(str(int(NOW.timestamp())).encode(), str(create_time).encode())
    inbound = parse(event).inbound
    assert inbound is not None and (inbound.at, inbound.platform_at) == (NOW, platform_at)


def test_message_as_formatted_in_the_wechat_docs() -> None:
    body = b"""<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[this is a test]]></Content>
  <MsgId>1234567890123456</MsgId>
</xml>"""
    parsed = parse(body)
    assert (parsed.to_user, parsed.from_user, parsed.msg_id) == ("toUser", "fromUser", "1234567890123456")
    assert parsed.inbound is not None
    assert (parsed.inbound.text, parsed.inbound.platform_at) == (
        "this is a test", datetime(2012, 9, 28, 11, 31, 0, tzinfo=UTC),
    )
    assert parsed.inbound.at == NOW  # our clock; CreateTime is the sender's claim


def _voice(recognition: str | None) -> bytes:
    fields = dict(
        ToUserName=GH_ID, FromUserName=OPENID, CreateTime=int(NOW.timestamp()),
        MsgType="voice", MediaId="media-1", Format="amr", MsgId=777,
    )
    if recognition is not None:
        fields["Recognition"] = recognition
    return message_xml(**fields)


def test_voice_with_recognition_becomes_text() -> None:
    inbound = parse(_voice("我对服务很满意。")).inbound
    assert inbound is not None
    assert (inbound.kind, inbound.text, inbound.delivery_key) == (
        "text", "我对服务很满意。", f"wechat:main:msg:{OPENID}:777",
    )


@pytest.mark.parametrize("recognition", [None, "", "   "])
def test_voice_without_recognition_is_unsupported(recognition: str | None) -> None:
    inbound = parse(_voice(recognition)).inbound
    assert inbound is not None
    assert (inbound.kind, inbound.text) == ("unsupported", None)


@pytest.mark.parametrize(
    "msg_type", ["image", "location", "link", "video", "shortvideo", "file", "emoticon"]
)
def test_media_messages_are_unsupported(msg_type: str) -> None:
    body = message_xml(
        ToUserName=GH_ID, FromUserName=OPENID, CreateTime=int(NOW.timestamp()),
        MsgType=msg_type, MsgId=42,
    )
    parsed = parse(body)
    assert parsed.inbound is not None
    assert (parsed.inbound.kind, parsed.inbound.delivery_key) == (
        "unsupported", f"wechat:main:msg:{OPENID}:42",
    )


EVENT_KEY_PREFIX = f"wechat:main:evt:{OPENID}:{int(NOW.timestamp())}"


@pytest.mark.parametrize(
    ("event", "event_key", "kind", "payload"),
    [
        ("subscribe", None, "start", None),
        ("subscribe", "", "start", None),
        ("subscribe", "qrscene_elderly", "start", "elderly"),
        ("subscribe", "qrscene_ref:R-2024-0042", "start", "ref:R-2024-0042"),
        ("SCAN", "elderly", "start", "elderly"),
        ("unsubscribe", None, "unreachable", None),
        ("CLICK", "survey:donor", "start", "survey:donor"),
        ("CLICK", "human", "start", "human"),
    ],
)
def test_events_that_start_or_end_a_conversation(
    event: str, event_key: str | None, kind: str, payload: str | None
) -> None:
    parsed = parse(event_message(event, event_key))
    assert parsed.inbound is not None
    assert (parsed.inbound.kind, parsed.inbound.start_payload) == (kind, payload)
    assert parsed.inbound.delivery_key == f"{EVENT_KEY_PREFIX}:{event}"
    assert parsed.msg_id is None and parsed.event == event


@pytest.mark.parametrize(
    ("event", "event_key"),
    [("VIEW", "https://example.org/"), ("LOCATION", None), ("TEMPLATESENDJOBFINISH", None),
     ("MASSSENDJOBFINISH", None), ("scancode_push", "x")],
)
def test_other_events_are_acknowledged_without_an_inbound(event: str, event_key: str | None) -> None:
    parsed = parse(event_message(event, event_key))
    assert parsed.inbound is None
    assert (parsed.from_user, parsed.to_user, parsed.event) == (OPENID, GH_ID, event)


def test_the_same_msgid_from_two_senders_has_two_delivery_keys() -> None:
    """MsgIds are not unique across senders: keyed on MsgId alone, a second respondent got
    the first one's stored reply and their answer was dropped."""
    mine = parse(text_message()).inbound
    theirs = parse(text_message().replace(OPENID.encode(), b"oAnother-openid-456")).inbound
    assert mine is not None and theirs is not None
    assert mine.delivery_key != theirs.delivery_key


def test_delivery_keys_stay_within_the_columns_for_every_legal_message() -> None:
    from bot.channels.base import MAX_DELIVERY_KEY, delivery_key
    from storage.models.inbound_message import DELIVERY_KEY_LENGTH
    from storage.models.outbox_message import DEDUP_KEY_LENGTH

    # The late reply is queued as "reply:<delivery key>": both must fit.
    assert MAX_DELIVERY_KEY + len("reply:") <= min(DELIVERY_KEY_LENGTH, DEDUP_KEY_LENGTH)
    longest = AccountKeys(name="a" * 64, app_id=APP_ID, token=TOKEN)  # account names: 1–64
    openid = "o" * 64
    at = str(int(NOW.timestamp()))
    for body in (
        text_message(msg_id=10**23).replace(OPENID.encode(), openid.encode()),
        message_xml(ToUserName=GH_ID, FromUserName=openid, CreateTime=at, MsgType="event",
                    Event="unsubscribe"),
    ):  # fmt: skip
        inbound = parse(body, keys=longest).inbound
        assert inbound is not None and openid in inbound.delivery_key
        assert len(inbound.delivery_key) <= MAX_DELIVERY_KEY

    # Past the limit the identity is hashed: still one key per delivery, still stable.
    long_identity = "evt:" + "x" * 300
    key = delivery_key("wechat", "a" * 64, long_identity)
    assert len(key) <= MAX_DELIVERY_KEY and key.startswith("wechat:" + "a" * 64 + ":h:")
    assert key == delivery_key("wechat", "a" * 64, long_identity)
    assert key != delivery_key("wechat", "a" * 64, long_identity + "y")
    assert delivery_key("wechat", "main", "msg:o:1") == "wechat:main:msg:o:1"


def test_a_redelivery_has_the_same_delivery_key() -> None:
    first = parse(text_message(), plain_query(nonce="a1"))
    again = parse(text_message(), plain_query(at=NOW + timedelta(seconds=5), nonce="b2"))
    assert first.inbound is not None and again.inbound is not None
    assert first.inbound.delivery_key == again.inbound.delivery_key


# --- URL verification ------------------------------------------------------------------


def test_verify_url_echoes_echostr_when_signed() -> None:
    q = plain_query()
    assert verify_url(PLAIN_KEYS, q["signature"], q["timestamp"], q["nonce"], "538211", NOW) == "538211"


@pytest.mark.parametrize(
    ("signature", "at", "echostr", "status", "reason"),
    [
        ("0" * 40, NOW, "1", 403, "bad signature"),
        (None, NOW, "1", 403, "missing signature"),
        (sign(TOKEN, ts(NOW - timedelta(hours=1)), NONCE), NOW - timedelta(hours=1), "1", 403,
         "replay"),
        (sign(TOKEN, ts(NOW), NONCE), NOW, "<script> alert", 400, "bad echostr"),
        (sign(TOKEN, ts(NOW), NONCE), NOW, None, 400, "bad echostr"),
    ],
)
def test_verify_url_refusals(signature, at, echostr, status, reason) -> None:
    with pytest.raises(WeChatRequestError) as caught:
        verify_url(PLAIN_KEYS, signature, ts(at), NONCE, echostr, NOW)
    assert (caught.value.status, caught.value.reason) == (status, reason)


# --- passive replies ------------------------------------------------------------------------

TRICKY = "第一题]]>完成<![CDATA[ & </Content></xml><xml>]]]]>"


def _content(xml: str) -> dict[str, str]:
    return xmltodict.parse(xml, disable_entities=True)["xml"]


def test_plain_reply_survives_cdata_breakout_text() -> None:
    parsed = parse(text_message())
    reply = _content(build_reply(PLAIN_KEYS, parsed, TRICKY, now=NOW, nonce="r1"))
    assert reply["Content"] == TRICKY
    assert (reply["ToUserName"], reply["FromUserName"]) == (OPENID, GH_ID)
    assert (reply["MsgType"], reply["CreateTime"]) == ("text", ts(NOW))


def test_encrypted_reply_decrypts_to_the_original_text() -> None:
    query, body = safe_request(text_message())
    parsed = parse(body, query, keys=SAFE_KEYS)
    reply_xml = build_reply(SAFE_KEYS, parsed, TRICKY, now=NOW, nonce="reply-nonce")
    assert "第一题" not in reply_xml
    envelope = _content(reply_xml)
    # WeChat checks the reply's signature the same way; wechatpy does it for us here.
    inner = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        reply_xml, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    reply = _content(inner)
    assert reply["Content"] == TRICKY
    assert (reply["ToUserName"], reply["FromUserName"]) == (OPENID, GH_ID)
    assert (envelope["TimeStamp"], envelope["Nonce"]) == (ts(NOW), "reply-nonce")


def test_reply_strips_xml_illegal_characters() -> None:
    parsed = parse(text_message())
    reply = _content(build_reply(PLAIN_KEYS, parsed, "谢谢\x00\x07\x1b您\ud800！\n再见", now=NOW, nonce="n"))
    assert reply["Content"] == "谢谢您！\n再见"


def test_empty_reply_is_refused() -> None:
    parsed = parse(text_message())
    with pytest.raises(ValueError, match="SUCCESS"):
        build_reply(PLAIN_KEYS, parsed, " \x00 ", now=NOW, nonce="n")
