"""The outbox: rows written with the change that caused them, claimed and settled by workers.

Every status change after the claim is guarded by the row's current status, so a worker
that was too slow (its row was reclaimed as stale by another) cannot undo a later outcome;
"sent" wins over everything, because the message is out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import dialect_name, upsert_insert
from storage.models import InboundMessage, OutboxMessage
from storage.models.outbox_message import DEDUP_KEY_LENGTH, KINDS

# An unsubscribe is a delivery but not a message from the person: it opens no window.
_NOT_A_MESSAGE = ("unreachable",)


def check_message(
    *,
    channel: str,
    external_id: str,
    kind: str,
    text: str,
    dedup_key: str | None = None,
    template_data: Mapping[str, Any] | None = None,
) -> None:
    """ValueError/TypeError naming what is wrong with a message to queue."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}: use one of {', '.join(KINDS)}")
    for name, value in (("channel", channel), ("external_id", external_id), ("text", text)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"an outbox message needs a non-empty {name}")
    if dedup_key is not None and not 0 < len(dedup_key) <= DEDUP_KEY_LENGTH:
        raise ValueError(f"dedup_key must be 1…{DEDUP_KEY_LENGTH} characters")
    if template_data is not None and not isinstance(template_data, Mapping):
        raise TypeError("template_data must be a mapping of template keys to values")


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(
        self,
        *,
        respondent_id: int | None,
        channel: str,
        account: str,
        external_id: str,
        kind: str,
        text: str,
        now: datetime,
        dedup_key: str | None = None,
        template_data: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Queue one message, due now; its id, or None when `dedup_key` was queued before
        (in any status: an invitation sent last week is not sent again)."""
        check_message(
            channel=channel,
            external_id=external_id,
            kind=kind,
            text=text,
            dedup_key=dedup_key,
            template_data=template_data,
        )
        table = OutboxMessage.__table__
        statement = (
            upsert_insert(self.session, table)
            .values(
                respondent_id=respondent_id,
                channel=channel,
                account=account or "",
                external_id=external_id,
                kind=kind,
                text=text,
                template_data=dict(template_data) if template_data is not None else None,
                dedup_key=dedup_key,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(table.c.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def has_key(self, dedup_key: str) -> bool:
        found = await self.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key))
        return found is not None

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def claim_due(
        self,
        *,
        now: datetime,
        limit: int,
        stale_after: timedelta,
        channels: Collection[str] | None = None,
    ) -> list[OutboxMessage]:
        """Take up to `limit` rows that are due, or stuck in "sending" for longer than
        `stale_after` (their worker died), and mark them "sending"; one attempt more each.

        PostgreSQL: the rows are picked with FOR UPDATE SKIP LOCKED inside the UPDATE, so
        concurrent workers take disjoint rows without waiting for each other. SQLite: the
        single UPDATE … RETURNING is atomic, and embedded mode runs one worker anyway.
        `channels` limits the claim to channels this worker has a sender for; the rest stay
        pending for a worker that has one.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        due = or_(
            and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - stale_after),
        )
        pick = select(OutboxMessage.id).where(due)
        if channels is not None:
            pick = pick.where(OutboxMessage.channel.in_(list(channels)))
        pick = pick.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
        if dialect_name(self.session) == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(pick.scalar_subquery()))
            .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        rows = list((await self.session.scalars(statement)).all())
        rows.sort(key=lambda row: (row.next_attempt_at, row.id))
        return rows

    async def mark_sent(self, message_id: int, *, via: str | None, now: datetime) -> bool:
        """The API accepted it. Whatever another worker recorded meanwhile, the message is
        out; only a row already "sent" is left as it is. `via`: "custom" | "template" on
        WeChat, whatever names its way on another channel (≤ 16 characters), or None.

        Deliberately no validation that could raise here: the message is already out, and
        a failure to record it would send it again."""
        return await self._settle(
            message_id,
            OutboxMessage.status != "sent",
            status="sent",
            via=via,
            sent_at=now,
            last_errcode=0,
            claimed_at=None,
        )

    async def mark_retry(
        self, message_id: int, *, errcode: int, error: str, next_at: datetime
    ) -> bool:
        return await self._settle(
            message_id,
            OutboxMessage.status == "sending",
            status="pending",
            next_attempt_at=next_at,
            last_errcode=errcode,
            last_error=error,
            claimed_at=None,
        )

    async def mark_failed(self, message_id: int, *, errcode: int | None, reason: str) -> bool:
        return await self._settle(
            message_id,
            OutboxMessage.status == "sending",
            status="failed",
            last_errcode=errcode,
            last_error=reason,
            claimed_at=None,
        )

    async def mark_unreachable(
        self, message_id: int, *, reason: str, errcode: int | None = None
    ) -> bool:
        return await self._settle(
            message_id,
            OutboxMessage.status == "sending",
            status="unreachable",
            last_errcode=errcode,
            last_error=reason,
            claimed_at=None,
        )

    async def _settle(self, message_id: int, guard: Any, **values: Any) -> bool:
        """Apply `values` if `guard` holds; whether the row changed."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, guard)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE/DELETE gives a CursorResult

    # --- one recipient's queue, in order (rows are sent in id order per recipient) --------

    async def wake_earlier(
        self, *, channel: str, account: str, external_id: str, before_id: int, now: datetime
    ) -> int:
        """Make the recipient's pending rows before `before_id` due now; how many there were."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                *_recipient(channel, account, external_id),
                OutboxMessage.id < before_id,
                OutboxMessage.status == "pending",
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined]  # an UPDATE/DELETE gives a CursorResult

    async def claim_ids(self, ids: list[int], *, now: datetime) -> None:
        """Claim these pending rows for a sender in this process (born "sending")."""
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
            .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )

    async def earlier_unsent(
        self, *, channel: str, account: str, external_id: str, before_id: int
    ) -> datetime | None:
        """When the recipient's latest-due unsent row before `before_id` is next due; None
        if every earlier row is settled (sent, failed, unreachable)."""
        found = await self.session.execute(
            select(func.count(), func.max(OutboxMessage.next_attempt_at)).where(
                *_recipient(channel, account, external_id),
                OutboxMessage.id < before_id,
                OutboxMessage.status.in_(("pending", "sending")),
            )
        )
        count, latest = found.one()
        return latest if count else None

    async def cs_sent_since(
        self, channel: str, account: str, external_id: str, since: datetime
    ) -> int:
        """Customer-service messages sent to this recipient at or after `since`."""
        return await self.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.account == account,
                OutboxMessage.external_id == external_id,
                OutboxMessage.sent_at >= since,
                OutboxMessage.status == "sent",
                OutboxMessage.via == "custom",
            )
        ) or 0

    async def last_inbound_at(
        self, channel: str, account: str, external_id: str
    ) -> datetime | None:
        """When this recipient last wrote (or pressed, scanned, subscribed) to us."""
        return await self.session.scalar(
            select(func.max(InboundMessage.received_at)).where(
                InboundMessage.channel == channel,
                InboundMessage.account == account,
                InboundMessage.external_id == external_id,
                InboundMessage.kind.not_in(_NOT_A_MESSAGE),
            )
        )


def _recipient(channel: str, account: str, external_id: str) -> tuple[Any, ...]:
    return (
        OutboxMessage.channel == channel,
        OutboxMessage.account == account,
        OutboxMessage.external_id == external_id,
    )
