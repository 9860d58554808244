from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import dialect_insert, prepared
from storage.models import InboundMessage
from storage.models.inbound_message import DELIVERY_KEY_LENGTH


def check_delivery_key(delivery_key: str) -> None:
    if not delivery_key:
        raise ValueError("a delivery key is required")
    if len(delivery_key) > DELIVERY_KEY_LENGTH:
        raise ValueError(
            f"delivery key is {len(delivery_key)} characters, at most "
            f"{DELIVERY_KEY_LENGTH} fit: {delivery_key[:40]}…"
        )


class InboundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self,
        *,
        delivery_key: str,
        channel: str,
        account: str,
        external_id: str,
        kind: str,
        text: str | None,
        at: datetime,
        platform_at: datetime | None = None,
    ) -> int | None:
        """Record a delivery; its id, or None when the key was already recorded (a redelivery).

        `at` is our clock; `platform_at` what the platform claims, kept for the record only.

        Runs in the same transaction as the state change it causes: if that transaction
        rolls back, the claim goes with it and a redelivery is handled afresh. A concurrent
        claim of the same key on PostgreSQL waits for the first transaction and then gets
        None (or the row, if the first rolled back).
        """
        check_delivery_key(delivery_key)
        statement = prepared(self.session, "inbound_claim", _build_claim)
        params = {
            "delivery_key": delivery_key,
            "channel": channel,
            "account": account,
            "external_id": external_id,
            "kind": kind,
            "text": text,
            "received_at": at,
            "platform_at": platform_at,
        }
        return (await self.session.execute(statement, params)).scalar_one_or_none()

    async def get_by_key(self, delivery_key: str) -> InboundMessage | None:
        return await self.session.scalar(
            select(InboundMessage).where(InboundMessage.delivery_key == delivery_key)
        )

    async def set_reply(
        self,
        message_id: int,
        reply: dict[str, Any],
        *,
        respondent_id: int | None,
        at: datetime,
    ) -> None:
        """Store the reply given to this delivery, so a redelivery gets the same reply."""
        if not isinstance(reply, dict):
            raise TypeError(f"reply must be a dict, got {type(reply).__name__}")
        # One UPDATE, no load: this runs for every message on the webhook's path.
        updated = await self.session.execute(
            _SET_REPLY,
            {"message_id": message_id, "reply": reply, "respondent_id": respondent_id, "processed_at": at},
        )
        if updated.scalar_one_or_none() is None:
            raise LookupError(f"no inbound message with id {message_id}")


def _build_claim(dialect: str) -> Any:
    table = InboundMessage.__table__
    return (
        dialect_insert(dialect, table)
        .on_conflict_do_nothing(index_elements=["delivery_key"])
        .returning(table.c.id)
    )


_table = cast(Table, InboundMessage.__table__)
_SET_REPLY = (
    update(_table)
    .where(_table.c.id == bindparam("message_id"))
    .values(
        reply=bindparam("reply", type_=_table.c.reply.type),
        respondent_id=bindparam("respondent_id"),
        processed_at=bindparam("processed_at", type_=_table.c.processed_at.type),
    )
    .returning(_table.c.id)
)
