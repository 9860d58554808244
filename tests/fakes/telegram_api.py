"""A fake Telegram Bot API, served over real TCP on 127.0.0.1 (aiohttp, in the test's loop).

    async with FakeTelegramApi(tokens=[TOKEN]) as fake:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
        update = fake.user_says(chat_id=42, text="/start humanitarian_aid")   # what Telegram would post
        fake.queue_update(update)                                             # …or serve it to getUpdates
        ...
        fake.texts_to(42)              # what the respondent has read, in order
        fake.press(42, "c:1")          # a press on the newest message showing that button

It keeps the parts of Telegram the bot depends on: tokens (401 otherwise), messages per chat
with increasing ids and their current inline keyboards (editMessageReplyMarkup changes them,
refuses an unchanged one with "message is not modified"), callback queries that can be
answered once, getUpdates with offsets and long polling, blocked chats (403), errors and lost
requests injected per method, and every call recorded in order. Requests are read the way aiogram sends them
(multipart form fields, objects as JSON) and also as JSON bodies or query strings.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_TOKEN = "123456789:TEST-fake-token_for-huifang"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes

# Form fields that are strings as sent; every other field is JSON (aiogram dumps ints,
# booleans, lists and objects as JSON text).
_STRING_FIELDS = frozenset(
    {"text", "callback_query_id", "url", "secret_token", "parse_mode", "inline_message_id", "caption"}
)


@dataclass(frozen=True)
class RecordedCall:
    method: str
    token: str
    params: dict[str, Any]


@dataclass
class _Injected:
    error_code: int
    description: str
    retry_after: int | None = None
    stall_s: float = 0.0  # answer only after this long (a client with a shorter timeout gives up)


class TelegramError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class FakeTelegramApi:
    tokens: Iterable[str] = (DEFAULT_TOKEN,)
    username: str = "huifang_test_bot"
    calls: list[RecordedCall] = field(default_factory=list)
    base_url: str = ""

    def __post_init__(self) -> None:
        self.tokens = tuple(self.tokens)
        self.webhook: dict[str, Any] | None = None
        self.answered: dict[str, str | None] = {}  # callback query id → the notice shown
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        # chat id → message id → the message as Telegram holds it now (bot's and user's)
        self._messages: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self._open_queries: set[str] = set()
        self._queue: list[dict[str, Any]] = []
        self._queued = asyncio.Condition()
        self._blocked: set[int] = set()
        self._injected: dict[str, deque[_Injected]] = defaultdict(deque)
        self._closing = asyncio.Event()
        self._wakers: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None

    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> FakeTelegramApi:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._endpoint)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        # IPPROTO_TCP explicitly, so TCP_NODELAY applies and answers do not wait ~40 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))  # the kernel picks a free port, no race
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()  # end pending long polls now
        async with self._queued:
            self._queued.notify_all()
        assert self._runner is not None
        await self._runner.cleanup()

    def reset(self) -> None:
        """Forget calls, chats, queued updates, injections and blocks, as if freshly started."""
        self.calls.clear()
        self._messages.clear()
        self._message_ids.clear()
        self._open_queries.clear()
        self.answered.clear()
        self._queue.clear()
        self._blocked.clear()
        self._injected.clear()
        self.webhook = None

    # --- the respondent's side: updates as Telegram would deliver them -----------------

    def user_says(self, chat_id: int, text: str, *, lang: str | None = "zh-hans") -> dict[str, Any]:
        return self._user_message(chat_id, lang, text=text)

    def user_sends(self, chat_id: int, kind: str, *, lang: str | None = "zh-hans") -> dict[str, Any]:
        """A non-text message: voice, photo, sticker, location or document."""
        file = {"file_id": f"file-{kind}-{chat_id}", "file_unique_id": f"u-{kind}-{chat_id}"}
        content = {
            "voice": {"voice": {**file, "duration": 4}},
            "photo": {"photo": [{**file, "width": 90, "height": 90}]},
            "sticker": {
                "sticker": {**file, "type": "regular", "width": 512, "height": 512,
                            "is_animated": False, "is_video": False}
            },
            "location": {"location": {"latitude": 30.657, "longitude": 104.066}},
            "document": {"document": {**file, "file_name": "证明.pdf"}},
        }[kind]  # fmt: skip
        return self._user_message(chat_id, lang, **content)

    def user_blocks_bot(self, chat_id: int) -> dict[str, Any]:
        """The my_chat_member update Telegram sends when the user blocks the bot."""
        self._blocked.add(chat_id)
        return {
            "update_id": next(self._update_ids),
            "my_chat_member": {
                "chat": _private_chat(chat_id),
                "from": _user(chat_id, "zh-hans"),
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": self._bot_user()},
                "new_chat_member": {"status": "kicked", "user": self._bot_user(), "until_date": 0},
            },
        }

    def press(
        self, chat_id: int, data: str, *, lang: str | None = "zh-hans", too_old: bool = False
    ) -> dict[str, Any]:
        """A press on the newest message in the chat whose keyboard shows a button with `data`.

        `too_old`: Telegram no longer shows the message to the bot (older than 48 hours).
        """
        for message in reversed(list(self._messages[chat_id].values())):
            if data in _callback_data(message.get("reply_markup")):
                return self.press_on(chat_id, message["message_id"], data, lang=lang, too_old=too_old)
        raise AssertionError(f"no message in chat {chat_id} shows a button {data!r}")

    def press_on(
        self, chat_id: int, message_id: int, data: str, *, lang: str | None = "zh-hans", too_old: bool = False
    ) -> dict[str, Any]:
        """A press on a given message (its keyboard as the respondent's app still shows it)."""
        message = self._messages[chat_id][message_id]
        query_id = f"{chat_id}{next(self._query_ids):06d}"
        self._open_queries.add(query_id)
        shown = (
            {"chat": _private_chat(chat_id), "message_id": message_id, "date": 0}
            if too_old
            else json.loads(json.dumps(message))
        )
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": query_id,
                "from": _user(chat_id, lang),
                "chat_instance": f"ci-{chat_id}",
                "message": shown,
                "data": data,
            },
        }

    def queue_update(self, *updates: dict[str, Any]) -> None:
        """Serve these to getUpdates (the long-polling side)."""
        self._queue.extend(updates)

        async def wake() -> None:
            async with self._queued:
                self._queued.notify_all()

        task = asyncio.get_running_loop().create_task(wake())
        self._wakers.add(task)  # a task nobody references may be collected before it runs
        task.add_done_callback(self._wakers.discard)

    def block(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def fail_next(
        self, method: str, error_code: int, description: str, *, retry_after: int | None = None, times: int = 1
    ) -> None:
        """The next `times` calls of `method` fail with this error (after the token check)."""
        self._injected[method].extend(_Injected(error_code, description, retry_after) for _ in range(times))

    def stall_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls of `method` are lost on the way: nothing is done, and only
        after `seconds` comes a 504 (a client that waits less sees no answer at all)."""
        self._injected[method].extend(
            _Injected(504, "Gateway Timeout", stall_s=seconds) for _ in range(times)
        )

    # --- inspection -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to this chat, as they look now (keyboards edited in place)."""
        return [m for m in self._messages[chat_id].values() if m["from"]["is_bot"]]

    def texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.messages_to(chat_id)]

    def keyboard_of(self, message: dict[str, Any]) -> list[list[tuple[str, str]]]:
        markup = message.get("reply_markup") or {"inline_keyboard": []}
        return [[(b["text"], b.get("callback_data", "")) for b in row] for row in markup["inline_keyboard"]]

    @property
    def pending_updates(self) -> int:
        return len(self._queue)

    # --- the API ----------------------------------------------------------------------

    async def _endpoint(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        params = await _read_params(request)
        self.calls.append(RecordedCall(method, token, params))
        if token not in self.tokens:
            return _error(401, "Unauthorized")
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        injected = self._injected.get(method)
        if injected:
            e = injected.popleft()
            if e.stall_s:  # cut short when the fake closes, so a long stall holds up nothing
                try:
                    await asyncio.wait_for(self._closing.wait(), e.stall_s)
                except TimeoutError:
                    pass
            return _error(e.error_code, e.description, e.retry_after)
        try:
            result = await handler(params)
        except TelegramError as e:
            return _error(e.code, e.description, e.retry_after)
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self._bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}  # fmt: skip

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise TelegramError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = params
        return True

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _int(params.get("chat_id"), "chat_id")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise TelegramError(400, "Bad Request: message is too long")
        if chat_id in self._blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        markup = _check_markup(params.get("reply_markup"))
        message = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": _private_chat(chat_id),
            "from": self._bot_user(),
            "text": text,
        }
        if markup is not None:
            message["reply_markup"] = markup
        self._messages[chat_id][message["message_id"]] = message
        return message

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _int(params.get("chat_id"), "chat_id")
        message_id = _int(params.get("message_id"), "message_id")
        message = self._messages[chat_id].get(message_id)
        if message is None or not message["from"]["is_bot"]:
            raise TelegramError(400, "Bad Request: message to edit not found")
        markup = _check_markup(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise TelegramError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return message

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._open_queries:
            raise TelegramError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and len(text) > 200:
            raise TelegramError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self.answered[query_id] = text
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise TelegramError(
                409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
            )
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(int(params.get("timeout") or 0), 0)
        if isinstance(offset, int):
            # An offset confirms every update before it: they are never served again.
            self._queue[:] = [u for u in self._queue if u["update_id"] >= offset]
        deadline = asyncio.get_running_loop().time() + timeout
        async with self._queued:
            while not self._queue and not self._closing.is_set():
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(self._queued.wait(), left)
                except TimeoutError:
                    break
        return self._queue[:limit]

    # --- helpers ----------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        bot_id = int(self.tokens[0].split(":", 1)[0])
        return {"id": bot_id, "is_bot": True, "first_name": "回访", "username": self.username}

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _user_message(self, chat_id: int, lang: str | None, **content: Any) -> dict[str, Any]:
        message = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": _private_chat(chat_id),
            "from": _user(chat_id, lang),
            **content,
        }
        self._messages[chat_id][message["message_id"]] = message
        return {"update_id": next(self._update_ids), "message": json.loads(json.dumps(message))}


def _user(chat_id: int, lang: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "王", "last_name": "阿姨"}
    if lang is not None:
        user["language_code"] = lang
    return user


def _private_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "王", "last_name": "阿姨"}


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return {**params, **body}
        return params
    if request.method == "POST":
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return {k: v if k in _STRING_FIELDS else _json_or_raw(v) for k, v in params.items()}


def _json_or_raw(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TelegramError(400, f"Bad Request: {name} is empty" if value is None else f"Bad Request: invalid {name}")
    return value


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise TelegramError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise TelegramError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise TelegramError(400, "Bad Request: BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows} if rows else None


def _callback_data(markup: dict[str, Any] | None) -> list[str]:
    if not markup:
        return []
    return [b.get("callback_data", "") for row in markup["inline_keyboard"] for b in row]


def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)
