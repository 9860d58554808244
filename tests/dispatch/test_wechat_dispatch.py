"""The dispatcher over WeChat, against the fake WeChat API over TCP, real Redis, and both
databases: which way each message goes, what is retried, what is never sent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.channels.wechat.api import TIMEOUT
from bot.dispatch.sender import BACKOFF
from tests.dispatch.conftest import (
    CUSTOM_SEND,
    STABLE_TOKEN,
    T0,
    TEMPLATE_ID,
    TEMPLATE_SEND,
)
from tests.fakes.wechat_api import FakeWeChatApi

pytestmark = pytest.mark.asyncio(loop_scope="module")

OPENID = "o-respondent-1"


def texts(fake: FakeWeChatApi) -> list[str]:
    return [call.json["text"]["content"] for call in fake.calls(CUSTOM_SEND)]


async def test_customer_service_message_within_the_window(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=TEMPLATE_ID)
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=47))
    row_id = await world.queue(person, OPENID, "您好，想再问您两个问题。")

    stats = await dispatch({"wechat": make_sender(database)})

    assert (stats.claimed, stats.sent) == (1, 1)
    row = await world.row(row_id)
    assert (row.status, row.via, row.sent_at, row.attempts) == ("sent", "custom", T0, 1)
    [call] = fake_wechat.calls(CUSTOM_SEND)
    assert call.json == {"touser": OPENID, "msgtype": "text", "text": {"content": "您好，想再问您两个问题。"}}
    assert fake_wechat.count(TEMPLATE_SEND) == 0
    # Sent is sent: later passes leave it alone.
    assert (await dispatch({"wechat": make_sender(database)}, T0 + timedelta(hours=1))).claimed == 0
    assert fake_wechat.count(CUSTOM_SEND) == 1


async def test_template_message_after_48_hours(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=TEMPLATE_ID)
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=48, minutes=1))
    row_id = await world.queue(person, OPENID, "请问您的伤口恢复得怎么样？", kind="reminder")

    await dispatch({"wechat": make_sender(database)})

    row = await world.row(row_id)
    assert (row.status, row.via) == ("sent", "template")
    assert fake_wechat.count(CUSTOM_SEND) == 0
    [call] = fake_wechat.calls(TEMPLATE_SEND)
    assert call.json["touser"] == OPENID
    assert call.json["template_id"] == TEMPLATE_ID
    assert call.json["data"] == {
        "first": {"value": "回访提醒"},
        "keyword1": {"value": "请问您的伤口恢复得怎么样？"},
        "keyword2": {"value": "2026-03-01 16:00"},  # T0 in Asia/Shanghai
        "remark": {"value": "请直接回复本公众号继续，谢谢！"},
    }


async def test_template_data_on_the_row_wins_and_english_respondents_get_english(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=TEMPLATE_ID)
    own = await world.respondent("o-own")
    english = await world.respondent("o-english", lang="en")
    await world.queue(own, "o-own", "回访", template_data={"thing1": "回访问卷", "time2": "3月1日"})
    await world.queue(english, "o-english", "How are you doing?", kind="follow_up")

    await dispatch({"wechat": make_sender(database)})

    sent = {call.json["touser"]: call.json["data"] for call in fake_wechat.calls(TEMPLATE_SEND)}
    assert sent["o-own"] == {"thing1": {"value": "回访问卷"}, "time2": {"value": "3月1日"}}
    assert sent["o-english"]["first"] == {"value": "Following up"}
    assert sent["o-english"]["remark"]["value"].startswith("Please reply")


async def test_no_window_and_no_template_is_unreachable_with_the_reason(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=None)
    person = await world.respondent(OPENID)
    never_wrote = await world.respondent("o-silent")
    await world.inbound(OPENID, T0 - timedelta(days=3))
    late = await world.queue(person, OPENID)
    silent = await world.queue(never_wrote, "o-silent")

    stats = await dispatch({"wechat": make_sender(database)})

    assert stats.unreachable == 2
    for row_id in (late, silent):
        row = await world.row(row_id)
        assert row.status == "unreachable"
        assert "48 h window closed and no template" in row.last_error
        assert row.sent_at is None
    assert fake_wechat.requests == []  # not even a token was fetched
    assert (await dispatch({"wechat": make_sender(database)}, T0 + timedelta(days=1))).claimed == 0


async def test_nothing_is_ever_sent_to_opted_out_or_unsubscribed_respondents(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=TEMPLATE_ID)
    opted_out = await world.respondent("o-opted-out")
    unsubscribed = await world.respondent("o-unsubscribed")
    late_opt_out = await world.respondent("o-late")
    for openid in ("o-opted-out", "o-unsubscribed", "o-late"):
        await world.inbound(openid, T0 - timedelta(hours=1))
    # Queued while still taking part; they leave before the dispatcher gets to it.
    queued_before = await world.queue(late_opt_out, "o-late")
    await world.opt_out(opted_out)
    await world.unsubscribe(unsubscribed)
    await world.opt_out(late_opt_out)

    # queue_message refuses them outright.
    assert await world.queue(opted_out, "o-opted-out") is None
    assert await world.queue(unsubscribed, "o-unsubscribed") is None

    stats = await dispatch({"wechat": make_sender(database)})

    assert (stats.claimed, stats.unreachable, stats.sent) == (1, 1, 0)
    row = await world.row(queued_before)
    assert row.status == "unreachable" and row.last_error.startswith("opted_out")
    assert fake_wechat.requests == []


async def test_unknown_follower_without_respondent_is_looked_up_by_identity(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account()
    person = await world.respondent(OPENID)
    await world.unsubscribe(person)
    # A row written without a respondent id still reaches the respondent's opt-out state.
    row_id = await world.queue(None, OPENID)
    await world.inbound("o-stranger", T0 - timedelta(minutes=5))
    stranger = await world.queue(None, "o-stranger", "请问您属于哪一类？", kind="reply")

    await dispatch({"wechat": make_sender(database)})

    assert (await world.row(row_id)).status == "unreachable"
    assert (await world.row(stranger)).status == "sent"
    assert [c.json["touser"] for c in fake_wechat.calls(CUSTOM_SEND)] == ["o-stranger"]


async def test_system_error_then_success_is_sent_exactly_once(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account()
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    row_id = await world.queue(person, OPENID, "第一次邀请")
    fake_wechat.fail_next(CUSTOM_SEND, -1)
    sender = make_sender(database)

    first = await dispatch({"wechat": sender})
    row = await world.row(row_id)
    assert (first.retried, row.status, row.last_errcode) == (1, "pending", -1)
    assert row.next_attempt_at == T0 + BACKOFF[0]

    assert (await dispatch({"wechat": sender}, T0 + BACKOFF[0] - timedelta(seconds=1))).claimed == 0
    second = await dispatch({"wechat": sender}, T0 + BACKOFF[0])
    assert second.sent == 1
    for later in (1, 2, 3):
        await dispatch({"wechat": sender}, T0 + timedelta(hours=later))

    row = await world.row(row_id)
    assert (row.status, row.attempts, row.via) == ("sent", 2, "custom")
    # Two calls reached WeChat: the refused one and the one it accepted, nothing after.
    assert texts(fake_wechat) == ["第一次邀请", "第一次邀请"]


async def test_daily_quota_error_is_retried_on_the_schedule(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account()
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    row_id = await world.queue(person, OPENID)
    fake_wechat.fail_next(CUSTOM_SEND, 45009, times=2)
    sender = make_sender(database)

    await dispatch({"wechat": sender})
    assert (await world.row(row_id)).next_attempt_at == T0 + timedelta(seconds=10)
    await dispatch({"wechat": sender}, T0 + timedelta(seconds=10))
    row = await world.row(row_id)
    assert (row.status, row.last_errcode) == ("pending", 45009)
    assert row.next_attempt_at == T0 + timedelta(seconds=10) + timedelta(seconds=30)
    await dispatch({"wechat": sender}, T0 + timedelta(seconds=40))

    row = await world.row(row_id)
    assert (row.status, row.attempts) == ("sent", 3)
    assert fake_wechat.count(CUSTOM_SEND) == 3


async def test_retries_end_in_failed_after_max_attempts(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account()
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    row_id = await world.queue(person, OPENID)
    fake_wechat.fail_next(CUSTOM_SEND, -1, times=3)
    sender = make_sender(database)

    await dispatch({"wechat": sender}, max_attempts=2)
    stats = await dispatch({"wechat": sender}, T0 + timedelta(minutes=1), max_attempts=2)

    assert stats.failed == 1
    row = await world.row(row_id)
    assert (row.status, row.attempts, row.last_errcode) == ("failed", 2, -1)
    assert row.last_error.startswith("gave up after 2 attempts")
    assert (await dispatch({"wechat": sender}, T0 + timedelta(days=1))).claimed == 0


async def test_window_closed_on_wechat_side_falls_back_to_the_template(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=TEMPLATE_ID)
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=2))
    row_id = await world.queue(person, OPENID)
    fake_wechat.fail_next(CUSTOM_SEND, 45015)

    stats = await dispatch({"wechat": make_sender(database)})

    assert stats.sent == 1
    row = await world.row(row_id)
    assert (row.status, row.via, row.attempts) == ("sent", "template", 1)
    assert (fake_wechat.count(CUSTOM_SEND), fake_wechat.count(TEMPLATE_SEND)) == (1, 1)


async def test_window_closed_on_wechat_side_without_template_is_unreachable(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=None)
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=2))
    row_id = await world.queue(person, OPENID)
    fake_wechat.fail_next(CUSTOM_SEND, 45015)

    await dispatch({"wechat": make_sender(database)})

    row = await world.row(row_id)
    assert (row.status, row.last_errcode) == ("unreachable", 45015)
    assert row.last_error.startswith("window_closed")
    assert (await world.person(person)).unreachable_at is None  # they may write again


async def test_not_subscribed_marks_the_respondent_unreachable(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=TEMPLATE_ID)
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    first = await world.queue(person, OPENID, "第一条")
    second = await world.queue(person, OPENID, "第二条")
    fake_wechat.fail_next(CUSTOM_SEND, 43004)

    stats = await dispatch({"wechat": make_sender(database)})

    assert (stats.failed, stats.unreachable, stats.sent) == (1, 1, 0)
    row = await world.row(first)
    assert (row.status, row.last_errcode) == ("failed", 43004)
    assert row.last_error.startswith("not_subscribed")
    assert (await world.row(second)).status == "unreachable"
    who = await world.person(person)
    assert who.unreachable_at == T0 and "43004" in who.unreachable_reason
    assert texts(fake_wechat) == ["第一条"]
    assert await world.queue(person, OPENID, "第三条") is None


async def test_invalid_openid_fails_at_once_with_the_reason(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account()
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    row_id = await world.queue(person, OPENID)
    fake_wechat.fail_next(CUSTOM_SEND, 40003)

    await dispatch({"wechat": make_sender(database)})

    row = await world.row(row_id)
    assert (row.status, row.attempts, row.last_errcode) == ("failed", 1, 40003)
    assert row.last_error.startswith("invalid_openid")


async def test_timeout_is_retried(fake_wechat, world, dispatch, make_sender, database) -> None:
    await world.account()
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    row_id = await world.queue(person, OPENID)
    # Far past the 0.3 s timeout; short enough for the retry to wait it out should a slow
    # token fetch have timed out first and left this delay to the next send.
    fake_wechat.delay_next(CUSTOM_SEND, 5.0)
    impatient = make_sender(database, timeout_s=0.3)

    await dispatch({"wechat": impatient}, T0)  # the token fetch or the send times out
    row = await world.row(row_id)
    assert (row.status, row.last_errcode) == ("pending", TIMEOUT)

    # The retry goes out, through a worker whose timeout cannot trip on a loaded machine.
    await dispatch({"wechat": make_sender(database)}, T0 + timedelta(seconds=10))
    assert (await world.row(row_id)).status == "sent"


async def test_customer_service_quota_of_five_then_template(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=TEMPLATE_ID)
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    for i in range(7):
        await world.queue(person, OPENID, f"消息 {i}")
    sender = make_sender(database)

    await dispatch({"wechat": sender})

    assert texts(fake_wechat) == [f"消息 {i}" for i in range(5)]
    assert [c.json["data"]["keyword1"]["value"] for c in fake_wechat.calls(TEMPLATE_SEND)] == [
        "消息 5", "消息 6",
    ]
    # They write again: a fresh quota.
    await world.inbound(OPENID, T0 + timedelta(minutes=1))
    await world.queue(person, OPENID, "新的一轮", at=T0 + timedelta(minutes=2))
    await dispatch({"wechat": sender}, T0 + timedelta(minutes=2))
    assert texts(fake_wechat)[-1] == "新的一轮"


async def test_quota_used_without_template_is_unreachable(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account(template_id=None)
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    ids = [await world.queue(person, OPENID, f"消息 {i}") for i in range(6)]

    stats = await dispatch({"wechat": make_sender(database)})

    assert (stats.sent, stats.unreachable) == (5, 1)
    last = await world.row(ids[-1])
    assert last.status == "unreachable" and last.last_error.startswith("cs_quota_exceeded")


async def test_an_expired_token_is_refreshed_once_and_the_row_sent(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account()
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    first = await world.queue(person, OPENID, "一")
    sender = make_sender(database)
    await dispatch({"wechat": sender})
    fake_wechat.expire_tokens()  # WeChat retired the token (another fetch somewhere)
    second = await world.queue(person, OPENID, "二", at=T0 + timedelta(minutes=1))

    await dispatch({"wechat": sender}, T0 + timedelta(minutes=1))

    assert (await world.row(first)).status == (await world.row(second)).status == "sent"
    assert fake_wechat.count(STABLE_TOKEN) == 2
    assert texts(fake_wechat) == ["一", "二", "二"]  # refused with 40001, then accepted


async def test_unknown_account_is_retried_then_fails_with_the_reason(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    person = await world.respondent(OPENID)  # no account "main" stored
    row_id = await world.queue(person, OPENID)

    await dispatch({"wechat": make_sender(database)}, max_attempts=1)

    row = await world.row(row_id)
    assert row.status == "failed" and "no WeChat account named 'main'" in row.last_error
    assert fake_wechat.requests == []
