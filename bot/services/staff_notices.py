"""Staff notices: what a staff member should know about tickets (new, reopened, past SLA),
gathered into one digest per person and run, sent by WeCom or e-mail (bot/notify).

Who writes what:
- the ticket code adds rows with `add_notice` (or inserts `StaffNotice` rows itself) in the
  transaction that changed the ticket: nothing is sent there;
- the recurring due job `staff_digest` (bot/services/jobs/staff_digest.py) calls
  `send_digests` once per `staff_digest_every_s`, so a person gets at most one message per
  interval however many tickets moved.

A notice ends in one of these states (`sent_at`, `via`):
- sent: (time, "email" | "wecom");
- not sent because the person wants none, or their account is disabled: (time, "none" |
  "disabled"), so the console can show them and the table does not grow forever;
- given up: (None, "failed") after `max_attempts` failed digests, or at once when the
  channel says this address can never be reached; `attempts` and `last_error` say why;
- pending: (None, None), `attempts` counting the failed digests so far.

Never twice: a person's notices are claimed under a per-person advisory lock and FOR UPDATE
SKIP LOCKED (PostgreSQL), re-read as still pending, and marked in the same transaction as
the claim; a second run at the same time skips that person. On SQLite the one writer at a
time serialises runs. A crash after the send and before the commit sends that digest again
(never lost, possibly doubled, as with the outbox).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.sender import SendResult
from bot.notify import StaffNotifier
from storage.dialects import dialect_name
from storage.locks import try_advisory_xact_lock
from storage.models import StaffNotice, StaffUser

log = logging.getLogger(__name__)

# (Chinese, English) for the kinds the ticket code writes; others are shown as their name.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "new": ("新工单", "new"),
    "reopened": ("重新打开", "reopened"),
    "breached": ("超时", "past SLA"),
    "assigned": ("分派给您", "assigned to you"),
    "escalated": ("已升级", "escalated"),
}
EXCERPT_CHARS = 40
# Notices in one digest: the rest wait for the next run (a person with hundreds unread
# reads the console, not a message).
MAX_PER_DIGEST = 100
_ERROR_LENGTH = 1000


@dataclass(frozen=True, slots=True)
class StaffDigestConfig:
    """What the `staff_digest` job needs; built once by the worker from its container."""

    notifier: StaffNotifier
    every: timedelta = timedelta(seconds=600)
    batch: int = 20  # people per run; a full batch continues in a job due at once
    max_attempts: int = 5
    public_url: str | None = None  # links to the console when set


@dataclass
class DigestStats:
    people: int = 0  # staff members with pending notices looked at
    sent: int = 0  # digests that went
    notices_sent: int = 0
    failed: int = 0  # digests that did not go (their notices retried or given up)
    gave_up: int = 0  # notices marked "failed" in this run
    busy: int = 0  # people another run was serving: left to it
    muted: int = 0  # notices of people who want none or are disabled: marked, not sent
    errors: int = 0  # people skipped because of an error of ours (logged)
    last_user_id: int | None = None  # where a full batch stopped


@dataclass(frozen=True, slots=True)
class Digest:
    subject: str
    body: str


# --- writing notices (for the ticket code) ---------------------------------------------


async def add_notice(
    s: AsyncSession,
    *,
    user_id: int,
    kind: str,
    text: str,
    now: datetime,
    ticket_id: int | None = None,
) -> StaffNotice | None:
    """Queue a notice for the next digest, in the caller's transaction; None when the same
    (person, ticket, kind) is already waiting, so an SLA check run twice tells them once."""
    if ticket_id is not None:
        waiting = await s.scalar(
            select(StaffNotice.id).where(
                StaffNotice.user_id == user_id,
                StaffNotice.ticket_id == ticket_id,
                StaffNotice.kind == kind,
                _pending(),
            ).limit(1)
        )
        if waiting is not None:
            return None
    notice = StaffNotice(user_id=user_id, ticket_id=ticket_id, kind=kind, text=text, created_at=now, attempts=0)
    s.add(notice)
    await s.flush()
    return notice


# --- the digest ------------------------------------------------------------------------


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The text on one line, at most `limit` characters (an ellipsis counted in)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _label(kind: str) -> tuple[str, str]:
    return KIND_LABELS.get(kind, (kind, kind))


def summary(notices: Sequence[StaffNotice]) -> tuple[str, str]:
    """The first lines: counts per kind, Chinese then English, known kinds first."""
    counts = Counter(n.kind for n in notices)
    order = [k for k in KIND_LABELS if counts[k]] + sorted(k for k in counts if k not in KIND_LABELS)
    chinese = "，".join(f"{_label(k)[0]} {counts[k]} 件" for k in order)
    english = ", ".join(f"{counts[k]} {_label(k)[1]}" for k in order)
    return f"回访工单提醒：{chinese}", f"Follow-up tickets: {english}"


def ticket_link(public_url: str | None, ticket_id: int) -> str | None:
    return f"{public_url.rstrip('/')}/console/tickets/{ticket_id}" if public_url else None


def render(notices: Sequence[StaffNotice], *, public_url: str | None = None, max_bytes: int | None = None) -> Digest:
    """One message for these notices: the counts, then a line per notice (ticket, kind,
    excerpt, console link). Cut to `max_bytes` (UTF-8) by leaving out the last lines and
    saying how many are only in the console; the counts always cover every notice."""
    if not notices:
        raise ValueError("a digest needs at least one notice")
    chinese, english = summary(notices)
    head = [chinese, english]
    items: list[str] = []
    for n in notices:
        zh, en = _label(n.kind)
        where = f"#{n.ticket_id} " if n.ticket_id is not None else ""
        item = f"{where}{zh} {en}：{excerpt(n.text)}" if zh != en else f"{where}{zh}：{excerpt(n.text)}"
        link = ticket_link(public_url, n.ticket_id) if n.ticket_id is not None else None
        items.append(f"{item}\n{link}" if link else item)

    def body(shown: int) -> str:
        parts = ["\n".join(head), *items[:shown]]
        hidden = len(items) - shown
        if hidden:
            more = f"……另有 {hidden} 条，请到控制台查看 / {hidden} more in the console"
            if public_url:
                more += f"\n{public_url.rstrip('/')}/console/tickets"
            parts.append(more)
        return "\n\n".join(parts)

    shown = len(items)
    text = body(shown)
    while max_bytes is not None and len(text.encode()) > max_bytes and shown > 0:
        shown -= 1
        text = body(shown)
    if max_bytes is not None and len(text.encode()) > max_bytes:
        text = text.encode()[:max_bytes].decode(errors="ignore")  # the head alone is too long
    return Digest(subject=f"{chinese} | {english}", body=text)


def _pending() -> ColumnElement[bool]:
    return and_(StaffNotice.sent_at.is_(None), StaffNotice.via.is_(None))


async def send_digests(
    s: AsyncSession,
    notifier: StaffNotifier,
    *,
    now: datetime,
    batch: int = 20,
    max_attempts: int = 5,
    public_url: str | None = None,
    after_user_id: int = 0,
) -> DigestStats:
    """One digest to each of up to `batch` people with pending notices (ids above
    `after_user_id`), in the caller's transaction; each person in a savepoint of it, so an
    error of ours with one person leaves the others' marks to commit.

    The sends happen while the transaction is open: that is what keeps a second run from
    sending the same notices (see the module's docstring), and why `batch` is small."""
    if batch < 1 or max_attempts < 1:
        raise ValueError("batch and max_attempts must be at least 1")
    stats = DigestStats(muted=await _mark_muted(s, now))
    pending = _pending()
    people = list(
        await s.scalars(
            select(StaffNotice.user_id)
            .join(StaffUser, StaffUser.id == StaffNotice.user_id)
            .where(
                pending,
                StaffNotice.user_id > after_user_id,
                StaffUser.disabled_at.is_(None),
                StaffUser.notify_via != "none",
            )
            .group_by(StaffNotice.user_id)
            .order_by(StaffNotice.user_id)
            .limit(batch)
        )
    )
    for user_id in people:
        stats.people += 1
        try:
            async with s.begin_nested():
                await _digest_for(
                    s, notifier, user_id, stats, now=now, max_attempts=max_attempts, public_url=public_url
                )
        except Exception:
            # Rolled back to before this person; their notices stay pending for the next run.
            log.exception("staff digest for user %s failed", user_id)
            stats.errors += 1
    if len(people) == batch:
        stats.last_user_id = people[-1]
    return stats


async def _mark_muted(s: AsyncSession, now: datetime) -> int:
    """Mark the pending notices of disabled people and of people who want none."""
    marked = 0
    for via, whose in (
        ("disabled", select(StaffUser.id).where(StaffUser.disabled_at.is_not(None))),
        ("none", select(StaffUser.id).where(StaffUser.disabled_at.is_(None), StaffUser.notify_via == "none")),
    ):
        result = await s.execute(
            update(StaffNotice)
            .where(_pending(), StaffNotice.user_id.in_(whose))
            .values(sent_at=now, via=via)
            .execution_options(synchronize_session=False)
        )
        marked += int(result.rowcount or 0)  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
    return marked


async def _digest_for(
    s: AsyncSession,
    notifier: StaffNotifier,
    user_id: int,
    stats: DigestStats,
    *,
    now: datetime,
    max_attempts: int,
    public_url: str | None,
) -> None:
    # Without waiting: a run serving this person already will send these notices.
    if not await try_advisory_xact_lock(s, f"staff_digest:{user_id}"):
        stats.busy += 1
        return
    user = await s.get(StaffUser, user_id, populate_existing=True)
    if user is None or user.disabled_at is not None or user.notify_via == "none":
        return  # changed since the query: the next run marks them
    claim = (
        select(StaffNotice)
        .where(StaffNotice.user_id == user_id, _pending())
        .order_by(StaffNotice.id)
        .limit(MAX_PER_DIGEST)
        .execution_options(populate_existing=True)
    )
    if dialect_name(s) == "postgresql":
        claim = claim.with_for_update(skip_locked=True)
    notices = list(await s.scalars(claim))
    if not notices:
        stats.busy += 1
        return

    via = user.notify_via
    address = user.email if via == "email" else user.wecom_userid if via == "wecom" else None
    digest = render(notices, public_url=public_url, max_bytes=notifier.max_bytes(via))
    result = await notifier.send(via, address, digest.subject, digest.body)
    if result.ok:
        for notice in notices:
            notice.sent_at, notice.via = now, via
        stats.sent += 1
        stats.notices_sent += len(notices)
        log.info("staff digest: %s notices to user %s by %s", len(notices), user_id, via)
        return

    stats.failed += 1
    error = _describe(via, result)
    for notice in notices:
        notice.attempts = (notice.attempts or 0) + 1
        notice.last_error = error
        if result.permanent or notice.attempts >= max_attempts:
            notice.via = "failed"
            stats.gave_up += 1
    log.warning("staff digest to user %s by %s failed: %s", user_id, via, error)


def _describe(via: str, result: SendResult) -> str:
    kind = "retryable" if result.retryable else "permanent" if result.permanent else "configuration"
    reason = f" ({result.reason})" if result.reason else ""
    return f"{via} {kind} {result.errcode}{reason}: {result.errmsg}"[:_ERROR_LENGTH]
