"""The service's plain views as the API's schemas."""

from __future__ import annotations

from dataclasses import asdict

from admin.tickets.schemas import (
    AnswerRead,
    EventRead,
    FiguresRead,
    InboundRead,
    QueueRead,
    RespondentRead,
    SurveyRead,
    TicketDetail,
    TicketRead,
)
from bot.services.ticket_figures import Figures
from bot.services.ticket_views import QueueCount, TicketDetailView, TicketRow


def ticket_read(row: TicketRow) -> TicketRead:
    return TicketRead(**_ticket_fields(row))


def _ticket_fields(row: TicketRow) -> dict:
    fields = asdict(row)
    fields["organisation"] = fields.pop("organisation_code")
    fields["queue"] = fields.pop("queue_code")
    fields["assignee"] = fields.pop("assignee_username")
    fields["overdue"] = list(row.overdue)
    return fields


def ticket_detail(view: TicketDetailView) -> TicketDetail:
    r, survey = view.respondent, view.survey
    return TicketDetail(
        **_ticket_fields(view.ticket),
        question_id=view.question_id,
        context=view.context,
        respondent=RespondentRead(
            id=r.id, name=r.name, phone=r.phone, category=r.category, organisation_name=r.organisation_name,
            channels=r.channels, opted_out=r.opted_out, unreachable_reason=r.unreachable_reason,
        ) if r is not None else None,  # fmt: skip
        survey=SurveyRead(
            session_id=survey.session_id, flow=survey.flow_code, title_zh=survey.title_zh, title_en=survey.title_en,
            version=survey.version, status=survey.status, started_at=survey.started_at, ended_at=survey.ended_at,
        ) if survey is not None else None,  # fmt: skip
        answers=[AnswerRead(**asdict(a)) for a in view.answers],
        conversation=[InboundRead(**asdict(m)) for m in view.conversation],
        history=[EventRead(**asdict(e)) for e in view.history],
        actions=view.triggers,
    )


def _minutes(value: object) -> float | None:
    seconds = getattr(value, "total_seconds", None)
    return round(seconds() / 60, 1) if seconds is not None else None


def figures_read(f: Figures) -> FiguresRead:
    return FiguresRead(
        id=f.key, code=f.code, name=f.name, tickets=f.tickets, open=f.open,
        median_first_response_minutes=_minutes(f.median_first_response),
        median_resolution_minutes=_minutes(f.median_resolution),
        reopen_rate=f.reopen_rate, confirmation_rate=f.confirmation_rate, sla_breaches=f.sla_breaches,
    )  # fmt: skip


def queue_read(c: QueueCount, figures: Figures | None) -> QueueRead:
    return QueueRead(
        id=c.queue_id, code=c.code, name=c.name, organisation=c.organisation_code,
        organisation_name=c.organisation_name, first_response_minutes=c.first_response_minutes,
        resolution_minutes=c.resolution_minutes, open=c.open, unassigned=c.unassigned, overdue=c.overdue,
        by_status=c.by_status, figures=figures_read(figures) if figures is not None else None,
    )  # fmt: skip
