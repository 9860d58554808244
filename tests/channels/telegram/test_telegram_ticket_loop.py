"""The closed loop over the Telegram webhook and the staff JSON API (see tests/ticket_loop.py):
the follow-up question goes out through the outbox dispatcher to the (fake) Bot API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.dispatch.dispatcher import dispatch_once
from tests.channels.telegram.conftest import TelegramApp
from tests.ticket_loop import city_and_staff, run_the_loop

CHAT = 5150


async def test_a_telegram_complaint_closes_the_loop_through_the_staff_api(telegram_app: TelegramApp) -> None:
    t = telegram_app
    container = t.app.state.container
    await city_and_staff(t.db)

    async def say(text: str) -> str:
        before = len(t.fake.texts_to(CHAT))
        response = await t.post(t.fake.user_says(CHAT, text))
        assert response.status_code == 200, response.text
        return "\n".join(t.fake.texts_to(CHAT)[before:])

    async def asked() -> list[str]:
        # The worker's pass over the outbox: follow-ups are not replies, the dispatcher sends them.
        await dispatch_once(container.db, container.senders(), now=datetime.now(UTC) + timedelta(seconds=1), batch=10)
        return [text for text in t.fake.texts_to(CHAT) if "请问问题解决了吗" in text]

    await say("/start humanitarian_aid")
    await say("不用了")
    await say("我要投诉，救助款一直没有收到")
    await run_the_loop(t.client, t.db, container.settings, say=say, asked=asked)
