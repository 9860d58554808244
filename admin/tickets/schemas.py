"""The tickets API's bodies and answers (OpenAPI at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

# Every action takes the version the caller saw: when given, a ticket changed since is
# refused with 409 instead of the action being applied over the change.
VERSION = Field(default=None, ge=1, description="The ticket's version as you saw it; a mismatch → 409")


class AssignIn(BaseModel):
    user: str = Field(min_length=1, max_length=64, description="username of an admin or staff member in your scope")
    version: int | None = VERSION


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    version: int | None = VERSION


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    version: int | None = VERSION


class ResolveIn(BaseModel):
    resolution: str = Field(min_length=1, max_length=4000)
    version: int | None = VERSION


class ReopenIn(BaseModel):
    reason: str | None = Field(default=None, max_length=4000)
    version: int | None = VERSION


class StartIn(BaseModel):
    version: int | None = VERSION


class TicketRead(BaseModel):
    id: int
    status: str
    priority: int = Field(description="1 urgent … 4 low")
    kind: str
    category: str | None
    text: str = Field(description="the respondent's own words, unescaped: escape them when showing them")
    version: int
    organisation: str | None
    organisation_name: str | None
    queue_id: int | None
    queue: str | None
    queue_name: str | None
    assignee: str | None = Field(description="username")
    assignee_name: str | None
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    reopen_count: int
    escalation_level: int
    overdue: list[str] = Field(description='due times an open ticket is past: "first_response", "resolution"')


class TicketList(BaseModel):
    items: list[TicketRead]
    total: int
    limit: int
    offset: int


class RespondentRead(BaseModel):
    id: int
    name: str | None
    phone: str | None = Field(description="whole for admins, else only the last four digits")
    category: str
    organisation_name: str | None
    channels: list[str]
    opted_out: bool
    unreachable_reason: str | None


class SurveyRead(BaseModel):
    session_id: int
    flow: str
    title_zh: str
    title_en: str
    version: int
    status: str
    started_at: datetime
    ended_at: datetime | None


class AnswerRead(BaseModel):
    question_id: str
    prompt_zh: str
    prompt_en: str
    value: str
    raw_text: str
    skipped: bool
    text_kind: str | None
    answered_at: datetime
    raised_ticket: bool


class InboundRead(BaseModel):
    at: datetime
    channel: str
    kind: str
    text: str | None


class EventRead(BaseModel):
    at: datetime
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    text: str | None
    data: dict[str, Any]


class TicketDetail(TicketRead):
    question_id: str | None
    context: dict[str, Any]
    respondent: RespondentRead | None
    survey: SurveyRead | None
    answers: list[AnswerRead]
    conversation: list[InboundRead] = Field(description="the respondent's messages, oldest first")
    history: list[EventRead]
    actions: list[str] = Field(description="the lifecycle moves the ticket's status allows now")


class FiguresRead(BaseModel):
    id: int | None
    code: str | None
    name: str | None
    tickets: int
    open: int
    median_first_response_minutes: float | None
    median_resolution_minutes: float | None
    reopen_rate: float | None
    confirmation_rate: float | None
    sla_breaches: int


class QueueRead(BaseModel):
    id: int | None
    code: str | None
    name: str | None
    organisation: str | None
    organisation_name: str | None
    first_response_minutes: int | None
    resolution_minutes: int | None
    open: int
    unassigned: int
    overdue: int = Field(description="open tickets past a due time now")
    by_status: dict[str, int]
    figures: FiguresRead | None


class QueueOverview(BaseModel):
    queues: list[QueueRead]
    organisations: list[FiguresRead]
