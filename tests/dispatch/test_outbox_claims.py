"""The outbox's own rules on both databases: queueing, deduplication, claims, stale claims,
late outcomes of slow workers, channels without a sender, plugging in another sender."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.dispatch.dispatcher import SENDER_ERROR
from bot.dispatch.sender import Outcome, SendResult
from storage.models import OutboxMessage, Respondent
from storage.repositories.outbox import OutboxRepository
from tests.dispatch.conftest import CUSTOM_SEND, T0

pytestmark = pytest.mark.asyncio(loop_scope="module")

OPENID = "o-claims"
STALE = timedelta(minutes=5)


class RecordingSender:
    """A channel that is not WeChat, as a Telegram sender will plug in."""

    def __init__(self, *, fail_with: Exception | None = None) -> None:
        self.seen: list[tuple[str, str, int | None]] = []
        self.fail_with = fail_with

    async def send(self, row: OutboxMessage, respondent: Respondent | None, *, now: datetime) -> Outcome:
        if self.fail_with is not None:
            raise self.fail_with
        self.seen.append((row.external_id, row.text, respondent.id if respondent else None))
        return Outcome(SendResult(True, 0, "ok"))


async def count_rows(database) -> int:
    async with database.transaction() as s:
        return await s.scalar(select(func.count()).select_from(OutboxMessage))


async def test_dedup_key_queues_once(world, database) -> None:
    person = await world.respondent(OPENID)
    first = await world.queue(person, OPENID, dedup_key="invite:session-1")
    again = await world.queue(person, OPENID, "另一段文字", dedup_key="invite:session-1")
    other = await world.queue(person, OPENID, dedup_key="remind:session-1:1")

    assert first is not None and other is not None and again is None
    assert await count_rows(database) == 2
    assert (await world.row(first)).text.startswith("您好")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "spam"}, "unknown outbox kind 'spam'"),
        ({"text": "  "}, "non-empty text"),
        ({"external_id": ""}, "non-empty external_id"),
        ({"dedup_key": "k" * 201}, "dedup_key must be"),
    ],
)
async def test_malformed_messages_are_refused_and_nothing_is_written(
    world, database, changes, message
) -> None:
    person = await world.respondent(OPENID)
    await world.opt_out(person)  # refused input is reported even for someone opted out
    arguments = {"kind": "invitation", "text": "您好", "external_id": OPENID} | changes
    openid = arguments.pop("external_id")
    with pytest.raises(ValueError, match=message):
        await world.queue(person, openid, **arguments)
    assert await count_rows(database) == 0


async def test_a_claim_takes_due_rows_once_and_leaves_future_ones(world, database) -> None:
    person = await world.respondent(OPENID)
    due = [await world.queue(person, OPENID, f"第 {i} 条") for i in range(3)]
    later = await world.queue(person, OPENID, "明天", at=T0 + timedelta(days=1))

    async with database.transaction() as s:
        claimed = await OutboxRepository(s).claim_due(now=T0, limit=2, stale_after=STALE)
    async with database.transaction() as s:
        rest = await OutboxRepository(s).claim_due(now=T0, limit=10, stale_after=STALE)
    async with database.transaction() as s:
        none_left = await OutboxRepository(s).claim_due(now=T0, limit=10, stale_after=STALE)

    assert [r.id for r in claimed] == due[:2] and [r.id for r in rest] == due[2:]
    assert none_left == []
    assert all(r.status == "sending" and r.claimed_at == T0 and r.attempts == 1 for r in claimed)
    assert (await world.row(later)).status == "pending"


async def test_stale_sending_rows_are_reclaimed_and_sent(
    fake_wechat, world, dispatch, make_sender, database
) -> None:
    await world.account()
    person = await world.respondent(OPENID)
    await world.inbound(OPENID, T0 - timedelta(hours=1))
    row_id = await world.queue(person, OPENID, "重要提醒")
    async with database.transaction() as s:  # a worker claims it, then dies before sending
        await OutboxRepository(s).claim_due(now=T0, limit=10, stale_after=STALE)
    sender = make_sender(database)

    assert (await dispatch({"wechat": sender}, T0 + STALE - timedelta(seconds=1))).claimed == 0
    stats = await dispatch({"wechat": sender}, T0 + STALE + timedelta(seconds=1))

    assert (stats.claimed, stats.sent) == (1, 1)
    row = await world.row(row_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert fake_wechat.count(CUSTOM_SEND) == 1


async def test_a_slow_workers_late_outcome_cannot_undo_sent(world, database) -> None:
    person = await world.respondent(OPENID)
    row_id = await world.queue(person, OPENID)
    async with database.transaction() as s:
        await OutboxRepository(s).claim_due(now=T0, limit=1, stale_after=STALE)
    async with database.transaction() as s:  # the worker that reclaimed it sent it
        assert await OutboxRepository(s).mark_sent(row_id, via="custom", now=T0)
    async with database.transaction() as s:  # the first worker finally reports a failure
        outbox = OutboxRepository(s)
        assert not await outbox.mark_retry(row_id, errcode=-1, error="x", next_at=T0)
        assert not await outbox.mark_failed(row_id, errcode=-1, reason="x")
        assert not await outbox.mark_unreachable(row_id, reason="x")
        assert not await outbox.mark_sent(row_id, via="template", now=T0 + timedelta(1))
    row = await world.row(row_id)
    assert (row.status, row.via, row.sent_at) == ("sent", "custom", T0)


async def test_sent_wins_over_a_retry_recorded_by_another_worker(world, database) -> None:
    person = await world.respondent(OPENID)
    row_id = await world.queue(person, OPENID)
    async with database.transaction() as s:
        await OutboxRepository(s).claim_due(now=T0, limit=1, stale_after=STALE)
        await OutboxRepository(s).mark_retry(row_id, errcode=-1, error="x", next_at=T0)
    async with database.transaction() as s:
        assert await OutboxRepository(s).mark_sent(row_id, via="custom", now=T0)
    assert (await world.row(row_id)).status == "sent"


async def test_rows_of_a_channel_without_sender_wait_for_one(
    world, dispatch, make_sender, database
) -> None:
    person = await world.respondent(OPENID)
    row_id = await world.queue(person, "chat-42", "Привет? 您好", channel="telegram")

    stats = await dispatch({"wechat": make_sender(database)}, T0)
    assert stats.claimed == 0
    assert ((await world.row(row_id)).status, (await world.row(row_id)).attempts) == ("pending", 0)

    telegram = RecordingSender()
    stats = await dispatch({"telegram": telegram}, T0 + timedelta(seconds=1))
    assert stats.sent == 1
    assert telegram.seen == [("chat-42", "Привет? 您好", person)]
    row = await world.row(row_id)
    assert (row.status, row.via) == ("sent", None)


async def test_a_sender_that_raises_is_retried_not_fatal(world, dispatch) -> None:
    person = await world.respondent(OPENID)
    row_id = await world.queue(person, "chat-1", channel="telegram")

    stats = await dispatch({"telegram": RecordingSender(fail_with=RuntimeError("boom"))}, T0)

    assert stats.retried == 1
    row = await world.row(row_id)
    assert (row.status, row.last_errcode) == ("pending", SENDER_ERROR)
    assert "RuntimeError: boom" in row.last_error
