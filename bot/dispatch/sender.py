"""What the dispatcher needs from a channel: one `send` per outbox row.

A sender decides how to reach the recipient (WeChat: customer-service message or template),
calls the platform once or twice, and says what happened in an `Outcome`. It never writes
to the database and never decides about opt-outs: the dispatcher has already refused rows
of opted-out or unreachable respondents before a sender sees them.

A new channel (Telegram) plugs in as one more object with this `send`, registered under its
channel name in the mapping passed to `dispatch_once`; rows of channels without a sender
stay pending for a worker that has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.channels.wechat.api import SendResult
from storage.models import OutboxMessage, Respondent


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one row.

    - `result.ok`: sent; `via` says how ("custom" | "template" on WeChat; ≤ 16 characters).
    - `unreachable`: this message cannot reach the recipient by any means the channel has
      (e.g. 48 h window closed and no template); recorded with this reason, never retried.
    - otherwise `result` decides: retryable → later; permanent → failed with its reason;
      neither (configuration errors) → later, until the attempts run out.
    - `respondent_unreachable`: the person can no longer be reached at all (unsubscribed,
      blocked the bot); the respondent is marked so and nothing is sent to them again.
    """

    result: SendResult | None
    via: str | None = None
    unreachable: str | None = None
    respondent_unreachable: str | None = None

    @property
    def sent(self) -> bool:
        return self.result is not None and self.result.ok


class Sender(Protocol):
    async def send(
        self, row: OutboxMessage, respondent: Respondent | None, *, now: datetime
    ) -> Outcome:
        """Deliver `row` (detached from its session: read its columns only).

        `respondent` is None when the row names a recipient no respondent is linked to yet
        (e.g. a follower who has not chosen a group). Raising is treated like a failure
        that is neither retryable nor permanent: tried again until the attempts run out.
        """
        ...
