"""What a respondent's own words are: a complaint, a request for help, a suggestion, or
nothing to act on — and whether staff should follow them up (flows.detect reads them).

An organisation's admin may add phrases (`huifang tickets rules set`); an organisation's
respondents are read with its rules and those of the organisations above it, the nearest
first when two say different things.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flows.detect import RuleSet, classify, load_rules, wants_human
from flows.normalize import normalize
from flows.source import FlowError
from storage.repositories.detection_rules import DetectionRuleRepository
from storage.repositories.organisations import OrganisationRepository, Scope

KINDS = ("complaint", "help", "suggestion", "none")
# A request for a person that is the whole message ("人工", "我要投诉"): longer words are an
# answer that may ask for one, read as such by `classify_text`.
HUMAN_REQUEST_MAX_CHARS = 16


class RulesError(ValueError):
    def __init__(self, errors: list[FlowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def classify_text(text: str, rules: RuleSet | None = None) -> tuple[str, bool]:
    """(kind, escalate): kind is one of KINDS; escalate says staff should follow it up."""
    found = classify(text, extra=rules)
    return found.kind, found.escalate


def asks_for_a_person(text: str | None, rules: RuleSet | None = None) -> bool:
    """The whole message asks for a person (人工, 找工作人员, 我要投诉…), not an answer."""
    if not text:
        return False
    return len(normalize(text)) <= HUMAN_REQUEST_MAX_CHARS and wants_human(text, extra=rules)


async def rules_for(s: AsyncSession, organisation_id: int | None) -> RuleSet | None:
    """The rules an organisation's respondents are read with: its own and its ancestors'."""
    if organisation_id is None:
        return None
    organisation = await OrganisationRepository(s).get(organisation_id)
    if organisation is None:
        return None
    chain = Scope.of(organisation).ids_above_and_self()  # root first
    rows = await DetectionRuleRepository(s).current(chain)
    if not rows:
        return None
    merged: dict[str, list[str]] = {kind: [] for kind in RuleSet.model_fields}
    placed: set[str] = set()
    for org_id in reversed(chain):  # nearest first: its word for a phrase stands
        row = rows.get(org_id)
        if row is None:
            continue
        rules, _ = load_rules(f"organisation {org_id}", row.source)
        if rules is None:
            continue  # refused when saved; an older format would be skipped, not fatal
        for kind in merged:
            for phrase in getattr(rules, kind):
                key = normalize(phrase)
                if key not in placed:
                    placed.add(key)
                    merged[kind].append(phrase)
    return RuleSet.model_validate(merged)


class RulesCache:
    """Organisations' detection rules as this process knows them, each for `ttl_s`: every
    short message is checked for a request for a person, and reading the rules for each
    would cost two queries on the hot path; an admin's change reaches every process within
    the minute."""

    def __init__(self, ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._rules: dict[int, tuple[float, RuleSet | None]] = {}

    async def get(self, s: AsyncSession, organisation_id: int | None) -> RuleSet | None:
        if organisation_id is None:
            return None
        now = self._clock()
        kept = self._rules.get(organisation_id)
        if kept is not None and now - kept[0] < self._ttl_s:
            return kept[1]
        rules = await rules_for(s, organisation_id)
        self._rules[organisation_id] = (now, rules)
        return rules


async def save_rules(
    s: AsyncSession, *, organisation_id: int, name: str, text: str, by: str, now: datetime
) -> RuleSet:
    """Check an admin's rules text and make it the organisation's rules; RulesError with
    file:line errors, changing nothing, when it is not valid."""
    rules, errors = load_rules(name, text)
    if rules is None:
        raise RulesError(errors)
    await DetectionRuleRepository(s).save(organisation_id=organisation_id, source=text, created_by=by, now=now)
    return rules


async def current_rules_source(s: AsyncSession, organisation_id: int) -> str | None:
    """The rules text an organisation's admin last saved (None: it has none of its own)."""
    row = (await DetectionRuleRepository(s).current([organisation_id])).get(organisation_id)
    return row.source if row is not None else None
