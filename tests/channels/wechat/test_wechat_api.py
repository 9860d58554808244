"""WeChatApi against the fake WeChat API over TCP, with the token shared through real Redis."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest
from redis.asyncio import Redis

from bot.channels.wechat.api import (
    NETWORK_ERROR,
    TIMEOUT,
    TOKEN_BUSY,
    TOKEN_STORE_ERROR,
    WeChatApi,
    WeChatApiError,
)
from bot.channels.wechat.webhook import AccountKeys
from tests.channels.wechat.wechat_messages import APP_ID, APP_SECRET, OPENID, PLAIN_KEYS, TOKEN
from tests.fakes.wechat_api import FakeWeChatApi

STABLE_TOKEN = "/cgi-bin/stable_token"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
QR_CREATE = "/cgi-bin/qrcode/create"

RedisFactory = Callable[[], Awaitable[Redis]]

pytestmark = pytest.mark.asyncio(loop_scope="module")  # the fake server's loop


@pytest.fixture
def make_api(
    fake_wechat: FakeWeChatApi, http: httpx.AsyncClient, redis_client_factory: RedisFactory,
    redis_prefix: str,
) -> Callable[..., Awaitable[WeChatApi]]:
    """A WeChatApi with its own Redis connection, as a separate process would have."""

    async def make(keys: AccountKeys = PLAIN_KEYS, **options) -> WeChatApi:
        options.setdefault("timeout_s", 60.0)  # a hang guard unless a test wants a timeout
        return WeChatApi(
            keys, http=http, redis=await redis_client_factory(), base_url=fake_wechat.base_url,
            key_prefix=redis_prefix, **options,
        )

    return make


async def test_two_processes_share_one_token(fake_wechat: FakeWeChatApi, make_api) -> None:
    first, second = await make_api(), await make_api()

    assert (await first.send_text(OPENID, "您好，第一条")).ok
    assert (await second.send_text(OPENID, "您好，第二条")).ok
    assert (await first.send_text(OPENID, "第三条")).ok

    assert fake_wechat.count(STABLE_TOKEN) == 1
    fetch = fake_wechat.calls(STABLE_TOKEN)[0].json
    assert fetch == {
        "grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET,
        "force_refresh": False,
    }
    tokens = {call.query["access_token"] for call in fake_wechat.calls(CUSTOM_SEND)}
    assert len(tokens) == 1


async def test_concurrent_first_use_fetches_the_token_once(
    fake_wechat: FakeWeChatApi, make_api
) -> None:
    apis = [await make_api() for _ in range(4)]
    fake_wechat.delay_next(STABLE_TOKEN, 0.3)  # everyone arrives while the fetch is in flight

    results = await asyncio.gather(*(api.send_text(OPENID, f"消息 {i}")
                                     for i, api in enumerate(apis * 3)))

    assert all(r.ok for r in results)
    assert fake_wechat.count(STABLE_TOKEN) == 1
    assert fake_wechat.count(CUSTOM_SEND) == 12


async def test_token_is_cached_with_a_safety_margin(
    fake_wechat: FakeWeChatApi, make_api, redis_client_factory: RedisFactory, redis_prefix: str
) -> None:
    api = await make_api()
    token = await api.access_token()
    redis = await redis_client_factory()
    key = f"{redis_prefix}:access_token:{APP_ID}"
    assert (await redis.get(key)).decode() == token
    assert 7200 - 300 - 5 <= await redis.ttl(key) <= 7200 - 300


async def test_token_refused_refreshes_and_retries_once_only(
    fake_wechat: FakeWeChatApi, make_api
) -> None:
    api = await make_api()
    fake_wechat.fail_next(CUSTOM_SEND, 40001, times=50)

    result = await api.send_text(OPENID, "您好")

    assert (result.ok, result.errcode, result.retryable) == (False, 40001, True)
    assert fake_wechat.count(STABLE_TOKEN) == 2
    assert fake_wechat.count(CUSTOM_SEND) == 2
    assert [c.json["force_refresh"] for c in fake_wechat.calls(STABLE_TOKEN)] == [False, True]


async def test_expired_token_is_replaced_for_every_process(
    fake_wechat: FakeWeChatApi, make_api
) -> None:
    first, second = await make_api(), await make_api()
    assert (await first.send_text(OPENID, "一")).ok
    fake_wechat.expire_tokens()

    assert (await first.send_text(OPENID, "二")).ok  # 40001, refresh, retry
    assert (await second.send_text(OPENID, "三")).ok  # uses the refreshed token at once

    assert fake_wechat.count(STABLE_TOKEN) == 2
    assert fake_wechat.count(CUSTOM_SEND) == 4
    last_two = [c.query["access_token"] for c in fake_wechat.calls(CUSTOM_SEND)[-2:]]
    assert last_two[0] == last_two[1]


@pytest.mark.parametrize(
    ("errcode", "retryable", "permanent", "reason"),
    [
        (-1, True, False, None),
        (45009, True, False, None),
        (43004, False, True, "not_subscribed"),
        (45015, False, True, "window_closed"),
        (45047, False, True, "cs_quota_exceeded"),
        (40003, False, True, "invalid_openid"),
        (43101, False, True, "refused"),
        (47001, False, False, None),  # our request was wrong: an operator must look
    ],
)
async def test_send_failures_are_classified(
    fake_wechat: FakeWeChatApi, make_api, errcode: int, retryable: bool, permanent: bool,
    reason: str | None,
) -> None:
    api = await make_api()
    fake_wechat.fail_next(CUSTOM_SEND, errcode)

    result = await api.send_text(OPENID, "您好")

    assert (result.ok, result.errcode) == (False, errcode)
    assert (result.retryable, result.permanent, result.reason) == (retryable, permanent, reason)
    assert result.errmsg
    assert fake_wechat.count(CUSTOM_SEND) == 1  # no retry of our own
    assert (await api.send_text(OPENID, "再试一次")).ok


async def test_timeout_is_retryable_and_bounded(fake_wechat: FakeWeChatApi, make_api) -> None:
    await (await make_api()).access_token()  # shared through Redis, without a short timeout
    api = await make_api(timeout_s=0.3)
    fake_wechat.delay_next(CUSTOM_SEND, 5.0)

    result = await api.send_text(OPENID, "您好")

    assert (result.ok, result.errcode, result.retryable, result.permanent) == (
        False, TIMEOUT, True, False,
    )
    assert fake_wechat.count(CUSTOM_SEND) == 1  # bounded: one try, no retry of our own


async def test_token_fetch_timeout_becomes_a_retryable_result(
    fake_wechat: FakeWeChatApi, make_api, redis_client_factory: RedisFactory, redis_prefix: str
) -> None:
    api = await make_api(timeout_s=0.3)
    fake_wechat.delay_next(STABLE_TOKEN, 5.0)

    result = await api.send_text(OPENID, "您好")

    assert (result.errcode, result.retryable) == (TIMEOUT, True)
    assert fake_wechat.count(CUSTOM_SEND) == 0
    redis = await redis_client_factory()
    assert not await redis.exists(f"{redis_prefix}:access_token_lock:{APP_ID}")  # released
    assert (await (await make_api()).send_text(OPENID, "您好")).ok


async def test_unreachable_api_is_retryable(
    http: httpx.AsyncClient, redis_client_factory: RedisFactory, redis_prefix: str
) -> None:
    with socket.socket() as bound_not_listening:  # connections to it are refused
        bound_not_listening.bind(("127.0.0.1", 0))
        port = bound_not_listening.getsockname()[1]
        api = WeChatApi(PLAIN_KEYS, http=http, redis=await redis_client_factory(),
                        base_url=f"http://127.0.0.1:{port}", key_prefix=redis_prefix,
                        timeout_s=1.0)
        result = await api.send_text(OPENID, "您好")

    assert (result.ok, result.errcode, result.retryable) == (False, NETWORK_ERROR, True)


async def test_wrong_secret_needs_an_operator(fake_wechat: FakeWeChatApi, make_api) -> None:
    keys = AccountKeys(name="main", app_id=APP_ID, token=TOKEN, app_secret="not-the-secret")
    api = await make_api(keys)

    result = await api.send_text(OPENID, "您好")

    assert (result.ok, result.errcode, result.retryable, result.permanent) == (
        False, 40125, False, False,
    )
    assert "access_token" in result.errmsg
    assert fake_wechat.count(CUSTOM_SEND) == 0
    with pytest.raises(WeChatApiError) as caught:
        await api.access_token()
    assert caught.value.result.errcode == 40125


async def test_a_lock_held_by_a_dead_process_is_waited_for_only_briefly(
    fake_wechat: FakeWeChatApi, make_api, redis_client_factory: RedisFactory, redis_prefix: str
) -> None:
    redis = await redis_client_factory()
    # Held for an hour: a call that returns at all did not wait for it to expire.
    await redis.set(f"{redis_prefix}:access_token_lock:{APP_ID}", "crashed", px=3_600_000)
    api = await make_api(timeout_s=0.2)

    async with asyncio.timeout(60):  # only against a hang
        result = await api.send_text(OPENID, "您好")

    assert (result.errcode, result.retryable) == (TOKEN_BUSY, True)
    assert fake_wechat.count(STABLE_TOKEN) == 0


async def test_unreachable_redis_is_retryable(fake_wechat: FakeWeChatApi, http) -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/15", socket_connect_timeout=0.5)
    try:
        api = WeChatApi(PLAIN_KEYS, http=http, redis=redis, base_url=fake_wechat.base_url)
        result = await api.send_text(OPENID, "您好")
    finally:
        await redis.aclose()
    assert (result.errcode, result.retryable) == (TOKEN_STORE_ERROR, True)


async def test_chinese_text_goes_out_as_utf8_not_escapes(
    fake_wechat: FakeWeChatApi, make_api
) -> None:
    api = await make_api()
    assert (await api.send_text(OPENID, "您好，请回复 1")).ok

    call = fake_wechat.calls(CUSTOM_SEND)[0]
    assert "您好，请回复 1".encode() in call.raw
    assert call.json == {"touser": OPENID, "msgtype": "text", "text": {"content": "您好，请回复 1"}}


async def test_send_template(fake_wechat: FakeWeChatApi, make_api) -> None:
    api = await make_api()

    result = await api.send_template(
        OPENID, "TPL-1", {"thing1": "回访问卷", "time2": {"value": "2024-05-01", "color": "#173177"}},
        url="https://example.org/s/1",
    )

    assert result.ok and isinstance(result.data["msgid"], int)
    assert fake_wechat.calls(TEMPLATE_SEND)[0].json == {
        "touser": OPENID, "template_id": "TPL-1", "url": "https://example.org/s/1",
        "data": {"thing1": {"value": "回访问卷"},
                 "time2": {"value": "2024-05-01", "color": "#173177"}},
    }


async def test_create_qr_scene(fake_wechat: FakeWeChatApi, make_api) -> None:
    api = await make_api()

    temporary = await api.create_qr_scene("elderly", permanent=False, expire_seconds=3600)
    permanent = await api.create_qr_scene("ref:R-1", permanent=True)

    assert temporary.ok and permanent.ok
    assert temporary.data["image_url"].startswith(
        "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQ-fake-ticket-"
    )
    assert temporary.data["image_url"].endswith("%3D%3D")  # the ticket is URL-encoded
    assert [c.json for c in fake_wechat.calls(QR_CREATE)] == [
        {"action_info": {"scene": {"scene_str": "elderly"}}, "action_name": "QR_STR_SCENE",
         "expire_seconds": 3600},
        {"action_info": {"scene": {"scene_str": "ref:R-1"}}, "action_name": "QR_LIMIT_STR_SCENE"},
    ]


async def test_bad_arguments_are_programming_errors(make_api) -> None:
    api = await make_api()
    with pytest.raises(ValueError):
        await api.send_text("", "您好")
    with pytest.raises(ValueError):
        await api.send_text(OPENID, "  ")
    with pytest.raises(ValueError):
        await api.create_qr_scene("x" * 65, permanent=True)
    with pytest.raises(ValueError):
        await api.create_qr_scene("x", permanent=False, expire_seconds=40 * 24 * 3600)
    with pytest.raises(ValueError, match="app_secret"):
        await make_api(AccountKeys(name="main", app_id=APP_ID, token=TOKEN))



async def test_processes_refused_together_refresh_once(fake_wechat: FakeWeChatApi, make_api) -> None:
    apis = [await make_api() for _ in range(3)]
    assert (await apis[0].send_text(OPENID, "一")).ok
    fake_wechat.expire_tokens()
    fake_wechat.delay_next(STABLE_TOKEN, 0.2)  # the others see 40001 while it refreshes

    results = await asyncio.gather(*(api.send_text(OPENID, "二") for api in apis))

    assert all(r.ok for r in results)
    assert [c.json["force_refresh"] for c in fake_wechat.calls(STABLE_TOKEN)] == [False, True]


async def test_fake_classic_token_endpoint_and_token_check(
    fake_wechat: FakeWeChatApi, http: httpx.AsyncClient
) -> None:
    """The fake itself: what other tests rely on it to do."""
    token_url = f"{fake_wechat.base_url}/cgi-bin/token"
    send_url = f"{fake_wechat.base_url}{CUSTOM_SEND}"
    wrong = await http.get(token_url, params={"grant_type": "client_credential",
                                              "appid": APP_ID, "secret": "nope"})
    good = await http.get(token_url, params={"grant_type": "client_credential",
                                             "appid": APP_ID, "secret": APP_SECRET})
    assert wrong.json()["errcode"] == 40125
    token = good.json()["access_token"]
    message = {"touser": OPENID, "msgtype": "text", "text": {"content": "hi"}}

    unknown = await http.post(send_url, params={"access_token": "forged"}, json=message)
    known = await http.post(send_url, params={"access_token": token}, json=message)
    fake_wechat.expire_tokens()
    expired = await http.post(send_url, params={"access_token": token}, json=message)

    assert [r.json()["errcode"] for r in (unknown, known, expired)] == [40001, 0, 40001]
    assert [r.path for r in fake_wechat.requests] == ["/cgi-bin/token"] * 2 + [CUSTOM_SEND] * 3


async def test_a_local_token_store_serves_one_process_until_the_token_ages_out(
    fake_wechat: FakeWeChatApi, http: httpx.AsyncClient
) -> None:
    from bot.channels.wechat.api import LocalTokenStore

    now = [1000.0]
    store = LocalTokenStore(clock=lambda: now[0])
    api = WeChatApi(PLAIN_KEYS, http=http, tokens=store, base_url=fake_wechat.base_url, timeout_s=2.0)
    assert (await api.send_text(OPENID, "一")).ok
    assert (await api.send_text(OPENID, "二")).ok
    assert fake_wechat.count(STABLE_TOKEN) == 1  # kept in memory between sends
    now[0] += 7200  # past expires_in less the safety margin
    assert (await api.send_text(OPENID, "三")).ok
    assert fake_wechat.count(STABLE_TOKEN) == 2


async def test_a_client_needs_exactly_one_token_store(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="either redis"):
        WeChatApi(PLAIN_KEYS, http=http)
