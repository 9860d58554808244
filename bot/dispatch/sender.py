"""What the dispatcher needs from a channel, and what every sender shares: one `send` per
outbox row, the `SendResult` of a platform call, its `Outcome` for the row, the backoff
between attempts, and who may not be sent anything (`refusal`).

A sender decides how to reach the recipient (WeChat: customer-service message or template),
calls the platform once or twice, and says what happened in an `Outcome`. It never writes
to the database and never decides about opt-outs: the dispatcher has already refused rows
of opted-out or unreachable respondents before a sender sees them.

A new channel (Telegram) plugs in as one more object with this `send`, registered under its
channel name in the mapping passed to `dispatch_once`; rows of channels without a sender
stay pending for a worker that has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # for annotations only: channels share this module and never see storage
    from storage.models import OutboxMessage, Respondent

# Waits after the 1st, 2nd, … failed attempt; the last one repeats. Deterministic (no
# jitter) so a test and an operator can say when the next try will be.
BACKOFF = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based)."""
    return BACKOFF[min(max(attempt, 1), len(BACKOFF)) - 1]


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one API call.

    Three kinds of failure: `retryable` (try again later), `permanent` (this recipient
    cannot get this message; `reason` says why), and neither (a configuration or request
    error an operator must look at: wrong secret, IP not whitelisted, bad template…).
    """

    ok: bool
    errcode: int
    errmsg: str
    retryable: bool = False
    permanent: bool = False
    reason: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)  # the answer on success


def refusal(respondent: Respondent | None) -> str | None:
    """Why nothing may be sent to this respondent, or None if something may."""
    if respondent is None:
        return None
    if respondent.opted_out_at is not None:
        return "opted_out: 已退订 the respondent opted out"
    if respondent.unreachable_at is not None:
        detail = respondent.unreachable_reason or "unknown reason"
        return f"respondent_unreachable: 无法联系 {detail}"
    return None




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
