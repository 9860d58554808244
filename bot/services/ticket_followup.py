"""The closed loop's start: a resolved ticket schedules the question "is it solved?".

Kept apart from the asking itself (bot/services/jobs/ticket_confirmation.py) so that
bot/services/tickets.py, which calls `schedule_confirmation` when a ticket is resolved,
imports nothing that imports it back.

A resolution is one "round" of a ticket (its reopen count when resolved): every job and
the follow-up session carry it, so a late answer or job about an earlier resolution never
moves the ticket after staff resolved it again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Ticket
from storage.repositories.due_jobs import DueJobRepository

FLOW_ID = "ticket_confirmation"  # flows/followups/ticket_confirmation.yaml
ASK = "ticket_confirmation"
REMIND = "ticket_confirmation_reminder"
TIMEOUT = "ticket_confirmation_timeout"
EXCERPT_CHARS = 40  # of the respondent's words and of the resolution, in the question


def job_key(kind: str, ticket_id: int, round_: int, wait: int = 0) -> str:
    return f"{kind}:{ticket_id}:{round_}" + (f":w{wait}" if wait else "")


def about(ticket_id: int, round_: int) -> str:
    """What a follow-up session is about, kept in its state (`engine.start`'s `about`)."""
    return f"ticket:{ticket_id}:{round_}"


def ticket_of(state: dict) -> tuple[int, int] | None:
    """(ticket id, round) of a follow-up session's state, or None for any other session."""
    kind, _, rest = str(state.get("about") or "").partition(":")
    ticket_id, _, round_ = rest.partition(":")
    if kind != "ticket" or not ticket_id.isdigit() or not round_.isdigit():
        return None
    return int(ticket_id), int(round_)


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """One line of at most `limit` characters, for quoting back to the respondent."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def schedule_confirmation(s: AsyncSession, ticket: Ticket, *, now: datetime) -> None:
    """Ask the respondent as soon as the scheduler gets to it (after this transaction
    commits: a resolution undone by a rollback asks nothing); once per resolution."""
    round_ = ticket.reopen_count
    await DueJobRepository(s).schedule(
        ASK, {"ticket_id": ticket.id, "round": round_}, now, dedup_key=job_key(ASK, ticket.id, round_), now=now
    )
