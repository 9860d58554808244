"""Calls to the WeChat Official Account API for one account: token, messages, QR codes.

Every process shares one access_token through Redis: fetching a new one retires the old
one, so processes that each fetched their own would keep knocking each other out. A short
Redis lock lets one process fetch while the others poll the cache for a bounded time.

Calls that fail because the token was refused (40001/42001/40014) refresh it and retry once,
never more (wechatpy's auto_retry refetches without bound). Results come back as
`SendResult`; only programming errors (bad arguments) raise.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.wechat.webhook import AccountKeys
from bot.dispatch.sender import SendResult

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
QR_IMAGE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket={ticket}"

# Codes of our own for failures that never reached a WeChat answer (WeChat's are -1 or >0).
TIMEOUT = -1001
NETWORK_ERROR = -1002
BAD_RESPONSE = -1003
TOKEN_BUSY = -1004  # another process holds the token lock for longer than we wait
TOKEN_STORE_ERROR = -1005  # Redis unreachable

TOKEN_REFUSED = frozenset({40001, 42001, 40014})  # invalid, expired, malformed access_token
RETRYABLE = frozenset(
    {-1, 45009, 45011, TIMEOUT, NETWORK_ERROR, BAD_RESPONSE, TOKEN_BUSY, TOKEN_STORE_ERROR}
    | TOKEN_REFUSED  # refused again right after a refresh: try later, not now
)
# The respondent cannot be reached this way (now): the caller stops and records why.
PERMANENT = {
    43004: "not_subscribed",
    45015: "window_closed",  # more than 48 h since the respondent's last message
    45047: "cs_quota_exceeded",  # customer-service messages used up until they write again
    40003: "invalid_openid",
    43101: "refused",  # the respondent declined subscribe messages
}

MAX_SCENE_STR = 64
MAX_TEMPORARY_QR_S = 30 * 24 * 3600


def classify(errcode: int, errmsg: str, data: Mapping[str, Any] | None = None) -> SendResult:
    if errcode == 0:
        return SendResult(True, 0, errmsg or "ok", data=dict(data or {}))
    if errcode in PERMANENT:
        return SendResult(False, errcode, errmsg, permanent=True, reason=PERMANENT[errcode])
    return SendResult(False, errcode, errmsg, retryable=errcode in RETRYABLE)


class WeChatApiError(Exception):
    """An access_token could not be had; `result` says whether to try again later."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(f"{result.errcode} {result.errmsg}")
        self.result = result


_RELEASE_LOCK = """
if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end
return 0
"""


class TokenStore(Protocol):
    """Where the one access_token of an account lives, with a lock for fetching it."""

    async def get(self, key: str) -> str | None: ...
    async def put(self, key: str, value: str, *, ttl_s: int) -> None: ...
    async def lock(self, key: str, value: str, *, ttl_ms: int) -> bool: ...
    async def unlock(self, key: str, value: str) -> None: ...


class RedisTokenStore:
    """Shared by every process: the production store (several app processes and workers)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(key)
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        return value or None

    async def put(self, key: str, value: str, *, ttl_s: int) -> None:
        await self._redis.set(key, value, ex=ttl_s)

    async def lock(self, key: str, value: str, *, ttl_ms: int) -> bool:
        return bool(await self._redis.set(key, value, nx=True, px=ttl_ms))

    async def unlock(self, key: str, value: str) -> None:
        try:
            await self._redis.eval(_RELEASE_LOCK, 1, key, value)
        except RedisError:
            pass  # the lock expires by itself within its ttl


class LocalTokenStore:
    """This process only: for the embedded default, where one process does all sending.
    Two processes with local stores would each fetch, and the newer token retires the older."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> str | None:
        found = self._values.get(key)
        if found is None or found[1] <= self._clock():
            self._values.pop(key, None)
            return None
        return found[0]

    async def put(self, key: str, value: str, *, ttl_s: int) -> None:
        self._values[key] = (value, self._clock() + ttl_s)

    async def lock(self, key: str, value: str, *, ttl_ms: int) -> bool:
        if await self.get(key) is not None:
            return False
        await self.put(key, value, ttl_s=max(1, ttl_ms // 1000))
        return True

    async def unlock(self, key: str, value: str) -> None:
        if await self.get(key) == value:
            self._values.pop(key, None)


class WeChatApi:
    def __init__(
        self,
        keys: AccountKeys,
        *,
        http: httpx.AsyncClient,
        redis: Redis | None = None,
        tokens: TokenStore | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 5.0,
        token_margin_s: int = 300,
        key_prefix: str = "huifang:wechat",
        poll_interval_s: float = 0.05,
    ) -> None:
        if not keys.app_secret:
            raise ValueError(f"account {keys.name!r} has no app_secret: the API needs one")
        self._keys = keys
        self._http = http
        if (redis is None) == (tokens is None):
            raise ValueError("give either redis (shared token) or tokens (a token store)")
        self._tokens: TokenStore = tokens if tokens is not None else RedisTokenStore(redis)  # type: ignore[arg-type]
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._token_margin_s = token_margin_s
        self._token_key = f"{key_prefix}:access_token:{keys.app_id}"
        self._lock_key = f"{key_prefix}:access_token_lock:{keys.app_id}"
        # The lock outlives one bounded fetch; waiters give up a little after that.
        self._lock_ttl_ms = int((timeout_s + 2) * 1000)
        self._lock_wait_s = timeout_s + 1
        self._poll_interval_s = poll_interval_s

    # --- public calls -----------------------------------------------------------------

    async def access_token(self) -> str:
        """The shared token, fetched only when no process has a fresh one cached.

        Raises WeChatApiError when it cannot be had.
        """
        return await self._token(stale=None)

    async def send_text(self, openid: str, text: str) -> SendResult:
        """A customer-service text message (within 48 h of the respondent's last message)."""
        _require(openid, "openid")
        _require(text, "text")
        payload = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        return await self._call("/cgi-bin/message/custom/send", payload)

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str | Mapping[str, str]],
        url: str | None = None,
    ) -> SendResult:
        """A template message; `data` maps keywords to a value or to {"value": …}."""
        _require(openid, "openid")
        _require(template_id, "template_id")
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {k: {"value": v} if isinstance(v, str) else dict(v) for k, v in data.items()},
        }
        if url:
            payload["url"] = url
        return await self._call("/cgi-bin/message/template/send", payload)

    async def create_qr_scene(
        self, scene_str: str, *, permanent: bool, expire_seconds: int = MAX_TEMPORARY_QR_S
    ) -> SendResult:
        """A QR code carrying `scene_str`; on success `data` holds ticket, url, image_url."""
        _require(scene_str, "scene_str")
        if len(scene_str) > MAX_SCENE_STR:
            raise ValueError(f"scene_str is limited to {MAX_SCENE_STR} characters")
        payload: dict[str, Any] = {"action_info": {"scene": {"scene_str": scene_str}}}
        if permanent:
            payload["action_name"] = "QR_LIMIT_STR_SCENE"
        else:
            if not 60 <= expire_seconds <= MAX_TEMPORARY_QR_S:
                raise ValueError(f"expire_seconds must be 60…{MAX_TEMPORARY_QR_S}")
            payload["action_name"] = "QR_STR_SCENE"
            payload["expire_seconds"] = expire_seconds
        result = await self._call("/cgi-bin/qrcode/create", payload)
        if result.ok and isinstance(ticket := result.data.get("ticket"), str):
            data = {**result.data, "image_url": QR_IMAGE_URL.format(ticket=quote(ticket, safe=""))}
            return SendResult(True, 0, result.errmsg, data=data)
        return result

    # --- calls with one token refresh -------------------------------------------------

    async def _call(self, path: str, payload: Mapping[str, Any]) -> SendResult:
        try:
            token = await self.access_token()
            result = await self._post(path, payload, token)
            if result.errcode in TOKEN_REFUSED:
                token = await self._token(stale=token)
                result = await self._post(path, payload, token)
            return result
        except WeChatApiError as exc:
            return exc.result

    async def _post(self, path: str, payload: Mapping[str, Any], token: str) -> SendResult:
        answer = await self._request(path, payload, params={"access_token": token})
        if isinstance(answer, SendResult):
            return answer
        errcode, errmsg = _errcode(answer)
        return classify(errcode, errmsg, answer)

    async def _request(
        self, path: str, payload: Mapping[str, Any], params: Mapping[str, str] | None = None
    ) -> dict[str, Any] | SendResult:
        # WeChat shows escapes such as \u4f60 literally, so the JSON goes out as raw UTF-8.
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._http.post(
                    f"{self._base_url}{path}",
                    params=params,
                    content=body,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                    timeout=self._timeout_s,
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            return classify(TIMEOUT, f"timeout ({type(exc).__name__})")
        except httpx.HTTPError as exc:  # no message: it may carry the URL with the token
            return classify(NETWORK_ERROR, f"network error ({type(exc).__name__})")
        if response.status_code != 200:
            return classify(BAD_RESPONSE, f"HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            return classify(BAD_RESPONSE, "answer is not JSON")
        if not isinstance(answer, dict):
            return classify(BAD_RESPONSE, "answer is not a JSON object")
        return answer

    # --- the shared token -------------------------------------------------------------

    async def _token(self, *, stale: str | None) -> str:
        """A cached token other than `stale`; fetch (forcing a new one if stale) when none."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_wait_s
        try:
            while True:
                cached = await self._cached_token()
                if cached is not None and cached != stale:
                    return cached
                lock_value = secrets.token_hex(8)
                if await self._tokens.lock(self._lock_key, lock_value, ttl_ms=self._lock_ttl_ms):
                    try:
                        # Another process may have stored one between our GET and SET NX.
                        cached = await self._cached_token()
                        if cached is not None and cached != stale:
                            return cached
                        return await self._fetch_and_store(force_refresh=stale is not None)
                    finally:
                        await self._release_lock(lock_value)
                if loop.time() >= deadline:
                    raise WeChatApiError(classify(TOKEN_BUSY, "access_token lock held too long"))
                await asyncio.sleep(self._poll_interval_s)
        except RedisError as exc:
            raise WeChatApiError(
                classify(TOKEN_STORE_ERROR, f"token store unavailable ({type(exc).__name__})")
            ) from exc

    async def _cached_token(self) -> str | None:
        return await self._tokens.get(self._token_key)

    async def _fetch_and_store(self, *, force_refresh: bool) -> str:
        payload = {
            "grant_type": "client_credential",
            "appid": self._keys.app_id,
            "secret": self._keys.app_secret,
            "force_refresh": force_refresh,
        }
        answer = await self._request("/cgi-bin/stable_token", payload)
        if isinstance(answer, SendResult):
            raise WeChatApiError(answer)
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            errcode, errmsg = _errcode(answer)
            if errcode == 0:
                errcode, errmsg = BAD_RESPONSE, "no access_token in the answer"
            # Only transient refusals are worth retrying; a wrong secret or an IP missing
            # from the whitelist needs an operator, and every message would fail the same way.
            retryable = errcode in RETRYABLE
            raise WeChatApiError(
                SendResult(False, errcode, f"access_token: {errmsg}", retryable=retryable)
            )
        ttl = expires_in - self._token_margin_s
        if ttl < 60:  # a token close to its end: keep it for half of what is left
            ttl = max(1, expires_in // 2)
        await self._tokens.put(self._token_key, token, ttl_s=ttl)
        return token

    async def _release_lock(self, lock_value: str) -> None:
        await self._tokens.unlock(self._lock_key, lock_value)


def _errcode(answer: Mapping[str, Any]) -> tuple[int, str]:
    errcode = answer.get("errcode", 0)
    errmsg = answer.get("errmsg", "")
    if not isinstance(errcode, int):
        return BAD_RESPONSE, f"errcode is not a number: {errcode!r}"
    return errcode, str(errmsg)


def _require(value: str, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
