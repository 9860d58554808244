"""The respondents API's answers (OpenAPI at /docs)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

PHONE = Field(description="whole for admins, else only the last four digits")


class RespondentSummary(BaseModel):
    id: int
    name: str | None
    phone: str | None = PHONE
    category: str
    category_name: str = Field(description="the category's Chinese name (its code when no flow names it)")
    organisation: str | None
    organisation_name: str | None
    opted_out: bool
    unreachable: bool
    is_test: bool
    created_at: datetime


class RespondentList(BaseModel):
    items: list[RespondentSummary]
    total: int
    limit: int
    offset: int


class PersonRead(BaseModel):
    id: int
    name: str | None
    phone: str | None = PHONE
    category: str
    category_name: str
    organisation: str | None
    organisation_name: str | None
    channels: list[str]
    opted_out: bool
    unreachable_reason: str | None = Field(description="set while the respondent cannot be reached")
    is_test: bool


class HistoryAnswerRead(BaseModel):
    question_id: str
    prompt_zh: str
    prompt_en: str
    value: str = Field(description="option labels (Chinese) for a choice, else the parsed value")
    raw_text: str = Field(description="the respondent's own words")
    skipped: bool
    answered_at: datetime


class HistorySessionRead(BaseModel):
    id: int
    flow: str
    title_zh: str
    title_en: str
    version: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    answers: list[HistoryAnswerRead]


class HistoryTicketRead(BaseModel):
    id: int
    status: str
    kind: str
    excerpt: str
    created_at: datetime
    link: str = Field(description="the ticket's console page")


class RespondentDetail(BaseModel):
    respondent: PersonRead
    sessions: list[HistorySessionRead]
    tickets: list[HistoryTicketRead]
