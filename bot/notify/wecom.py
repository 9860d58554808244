"""WeCom (企业微信) application messages to staff, through wechatpy's enterprise client.

wechatpy 1.8 names it `wechatpy.enterprise` (2.x renamed it `wechatpy.work`). It is
synchronous (requests), so each send runs in a thread under an asyncio deadline, and its
defaults are changed where they would hurt here:
- `auto_retry` off: on a refused token it refetches and retries without bound; here a
  refused token (40014 invalid, 42001 expired) is forgotten, fetched again and the message
  resent once, never more;
- its token fetch has no timeout and a fixed URL: both go through `_BoundedSession` and the
  configurable API base (a fake WeCom on 127.0.0.1 in tests);
- its cache key holds ten characters of the secret: ours holds the corp id only.

The access_token is cached in this process's memory until its expiry (wechatpy's
MemoryStorage and `expires_at`). Unlike an Official Account's, a WeCom token is handed out
unchanged while it is valid, so processes that each fetch their own do not retire each
other's, and there is no need to share it through Redis.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.channels.wechat.api import BAD_RESPONSE, NETWORK_ERROR, TIMEOUT
from bot.dispatch.sender import SendResult

CHANNEL = "wecom"
DEFAULT_API_BASE = "https://qyapi.weixin.qq.com/cgi-bin/"
MAX_BYTES = 2048  # a text message's content, says WeCom

TOKEN_REFUSED = frozenset({40014, 42001})  # invalid / expired access_token
RETRYABLE = frozenset({-1, 45009, 45033, TIMEOUT, NETWORK_ERROR, BAD_RESPONSE} | TOKEN_REFUSED)
# This person cannot be reached by this application (not in its visible range, no such userid).
PERMANENT = {
    81013: "invalid_user",  # 成员、部门、标签全部非法或无权限
    60111: "userid_not_found",
    82001: "invalid_user",  # 指定的成员/部门/标签参数无权限
}


def classify(errcode: int, errmsg: str) -> SendResult:
    """Everything else (40001 wrong secret, 40013 corp id, 40056 agent id, 60020 IP not
    allowed, 48002 no API permission…) is configuration: neither retryable nor permanent."""
    if errcode == 0:
        return SendResult(True, 0, errmsg or "ok")
    if errcode in PERMANENT:
        return SendResult(False, errcode, errmsg, permanent=True, reason=PERMANENT[errcode])
    return SendResult(False, errcode, errmsg, retryable=errcode in RETRYABLE)


class _BoundedSession(requests.Session):
    """A requests session whose every call has a timeout, the token fetch's included."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout_s
        return super().request(method, url, *args, **kwargs)


class _Client(WeChatClient):  # type: ignore[misc]  # wechatpy has no type hints
    def __init__(self, corp_id: str, secret: str, *, api_base: str, timeout_s: float) -> None:
        super().__init__(corp_id, secret, timeout=timeout_s, auto_retry=False)
        # wechatpy reads the class attribute through self: an instance one redirects it.
        self.API_BASE_URL = api_base if api_base.endswith("/") else api_base + "/"
        self._http = _BoundedSession(timeout_s)

    @property
    def access_token_key(self) -> str:
        return f"wecom_{self.corp_id}_access_token"

    def fetch_access_token(self) -> Any:
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
        )

    def forget_token(self) -> None:
        self.session.delete(self.access_token_key)
        self.expires_at = None

    def close(self) -> None:
        self._http.close()


class WeComChannel:
    """Sends a digest as a text message from one WeCom application (`agent_id`)."""

    name = CHANNEL
    max_bytes: int | None = MAX_BYTES

    def __init__(
        self,
        *,
        corp_id: str,
        agent_id: int,
        secret: str,
        api_base: str = DEFAULT_API_BASE,
        timeout_s: float = 10.0,
    ) -> None:
        if not corp_id or not secret:
            raise ValueError("WeCom needs a corp id and the application's secret")
        self._agent_id = agent_id
        self._client = _Client(corp_id, secret, api_base=api_base, timeout_s=timeout_s)
        # A token fetch and a send, each bounded by requests' own timeout; the thread that
        # overruns it is left to end by that timeout (a thread cannot be cancelled).
        self._deadline_s = 2 * timeout_s + 1
        # Digests go out one at a time; the lock keeps a late thread (after a deadline) from
        # racing the next send over the token.
        self._lock = threading.Lock()

    async def send(self, address: str, subject: str, body: str) -> SendResult:
        del subject  # a text message has none: the body's first line says it
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._send, address, body), self._deadline_s)
        except TimeoutError:
            return SendResult(False, TIMEOUT, f"WeCom did not answer within {self._deadline_s:g} s", retryable=True)

    async def aclose(self) -> None:
        self._client.close()

    def _send(self, userid: str, content: str) -> SendResult:
        with self._lock:
            refreshed = False
            while True:
                try:
                    answer = self._client.message.send_text(self._agent_id, [userid], content)
                except WeChatClientException as error:
                    if error.errcode in TOKEN_REFUSED and not refreshed:
                        self._client.forget_token()
                        refreshed = True
                        continue
                    return _failure(error)
                except requests.Timeout:
                    return SendResult(False, TIMEOUT, "WeCom did not answer in time", retryable=True)
                except requests.RequestException as error:
                    # Only the type: requests' messages name the URL, whose query holds the
                    # secret (gettoken) or the access_token (message/send).
                    return SendResult(False, NETWORK_ERROR, f"network error: {type(error).__name__}", retryable=True)
                except ValueError:  # a body that is not JSON (a proxy's error page)
                    return SendResult(False, BAD_RESPONSE, "WeCom answered something that is not JSON", retryable=True)
                return _delivered(answer, userid)


def _failure(error: WeChatClientException) -> SendResult:
    if error.errcode is None:  # an HTTP error status, before any WeCom answer
        status = getattr(error.response, "status_code", None)
        return SendResult(False, BAD_RESPONSE, f"HTTP {status}", retryable=True)
    return classify(int(error.errcode), str(error.errmsg))


def _delivered(answer: Any, userid: str) -> SendResult:
    if not isinstance(answer, Mapping):
        return SendResult(False, BAD_RESPONSE, "WeCom answered something that is not JSON", retryable=True)
    # errcode 0 with the person listed as invalid: sent to nobody (not in the application's
    # visible range, or no such member).
    invalid = str(answer.get("invaliduser") or "").split("|")
    if userid in invalid:
        return SendResult(
            False, 81013, f"WeCom: {userid} is not a member this application can reach", permanent=True,
            reason="invalid_user",
        )  # fmt: skip
    return SendResult(True, 0, str(answer.get("errmsg") or "ok"), data={"msgid": answer.get("msgid")})
