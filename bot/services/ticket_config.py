"""The ticket settings a process runs with (from Settings, see `Settings.tickets`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.services.working_time import ALWAYS, WorkingTime


@dataclass(frozen=True, slots=True)
class TicketConfig:
    # Service levels of the "default" queue an organisation without queues gets on first use.
    first_response: timedelta = timedelta(minutes=240)
    resolution: timedelta = timedelta(minutes=2880)  # two days
    # How often the scheduler looks for tickets past their due times (`ticket_sla`).
    sla_every: timedelta = timedelta(seconds=300)
    # The respondent's time to answer "is it solved?" before the one reminder, and again
    # after it before the ticket is left unconfirmed (bot/services/ticket_followup.py).
    confirm_after: timedelta = timedelta(hours=48)
    # The office hours the service levels count (the respondent's time above is clock time).
    working_time: WorkingTime = ALWAYS
