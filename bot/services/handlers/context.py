"""What the handlers of one turn share: the transaction, who, which session, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import OutMessage
from bot.services.text_kinds import classify_text, rules_for
from bot.services.ticket_config import TicketConfig
from flows.detect import RuleSet
from flows.schema import Flow
from storage.repositories.answers import AnswerRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.turns import TurnWrites


@dataclass
class Context:
    db: AsyncSession
    respondent: Any
    session_id: int
    now: datetime
    actor: str
    out: list[OutMessage] = field(default_factory=list)
    flow: Flow | None = None  # the session's flow, when the caller has it (question types)
    tickets: TicketConfig = field(default_factory=TicketConfig)
    state: dict[str, Any] | None = None  # the session's state after this turn (its answers)
    # question id → (kind, escalate) of this turn's free-text answers, classified once
    text_kinds: dict[str, tuple[str, bool]] = field(default_factory=dict)
    # The session's campaign, channel and interviewer: its events move the campaign member.
    campaign_id: int | None = None
    channel: str | None = None
    interviewer: str | None = None
    _rules: tuple[RuleSet | None] | None = None  # the organisation's detection rules, once loaded
    # An inbound message's turn: answers and audit rows wait here and are written together
    # with the session (storage/repositories/turns.py); anything read or written through
    # `db` first writes what waits, so handlers need not know.
    writes: TurnWrites | None = None

    async def audit(self, action: str, data: dict[str, Any] | None = None) -> None:
        if self.writes is not None:
            self.writes.audit(
                actor=self.actor, action=action, subject_type="survey_session",
                subject_id=str(self.session_id), data=dict(data or {}), at=self.now,
            )  # fmt: skip
            return
        await AuditRepository(self.db).record(
            actor=self.actor,
            action=action,
            subject_type="survey_session",
            subject_id=str(self.session_id),
            data=data,
            at=self.now,
        )

    async def text_kind(self, question_id: str, text: str) -> tuple[str, bool]:
        """What the respondent's words to `question_id` are (bot/services/text_kinds.py),
        kept on their answer for the reports; classified once per turn."""
        found = self.text_kinds.get(question_id)
        if found is None:
            if self._rules is None:
                self._rules = (await rules_for(self.db, self.respondent.organisation_id),)
            found = self.text_kinds[question_id] = classify_text(text, self._rules[0])
            if self.writes is None or not self.writes.set_text_kind(
                session_id=self.session_id, question_id=question_id, kind=found[0]
            ):
                await AnswerRepository(self.db).set_text_kind(
                    session_id=self.session_id, question_id=question_id, kind=found[0]
                )
        return found

    async def record_answer(
        self, *, question_id: str, value: Any, raw: str | None, parsed: bool, skipped: bool
    ) -> None:
        """The answer to `question_id` of this session (a second one replaces the value and
        keeps both texts)."""
        if self.writes is not None:
            self.writes.add_answer(
                session_id=self.session_id, question_id=question_id, value=value, raw=raw,
                parsed=parsed, skipped=skipped, at=self.now,
            )  # fmt: skip
            return
        await AnswerRepository(self.db).upsert(
            session_id=self.session_id, question_id=question_id, value=value, raw=raw,
            parsed=parsed, skipped=skipped, at=self.now,
        )  # fmt: skip
