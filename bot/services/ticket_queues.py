"""Ticket queues: added and listed by the operator (`huifang queues`), and the queue a new
or escalated ticket goes to.

Routing: the most specific matching queue of the ticket's organisation, else of its nearest
ancestor with a match (storage QueueRepository.route). When nothing on the way up matches,
the organisation itself gets a "default" queue (any category, any kind) with the SLAs of
the settings, on first use — so a ticket always has a queue and its clocks always run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.catalog import category_words
from bot.services.ticket_config import TicketConfig
from storage.models import Organisation, TicketQueue
from storage.models.ticket import KINDS, PRIORITIES
from storage.repositories.flows import FlowRepository
from storage.repositories.organisations import OrganisationRepository, Scope
from storage.repositories.ticket_queues import QueueRepository

DEFAULT_NAME = "默认队列 Default queue"
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class QueueError(ValueError):
    """A message for people; nothing was changed."""


@dataclass(frozen=True, slots=True)
class QueueRead:
    id: int
    organisation_code: str
    code: str
    name: str
    categories: list[str] | None
    kinds: list[str] | None
    priority: int
    first_response_minutes: int
    resolution_minutes: int


async def add_queue(
    s: AsyncSession,
    *,
    organisation: str,
    code: str,
    name: str,
    first_response_minutes: int,
    resolution_minutes: int,
    categories: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    priority: int = 2,
    now: datetime,
) -> TicketQueue:
    org = await OrganisationRepository(s).by_code(organisation)
    if org is None:
        raise QueueError(f"未知的机构 unknown organisation: {organisation}")
    code, name = code.strip(), name.strip()
    if not _CODE.fullmatch(code):
        raise QueueError(f"队列代码只能用小写字母、数字、_ 和 - a queue code is 1–64 of a-z 0-9 _ - : {code!r}")
    if not name or len(name) > 100:
        raise QueueError("队列名称必填（最多100字） a queue needs a name (at most 100 characters)")
    if first_response_minutes < 1 or resolution_minutes < 1:
        raise QueueError("时限至少 1 分钟 service levels are at least 1 minute")
    if first_response_minutes > resolution_minutes:
        raise QueueError("首次响应时限不能长于解决时限 the first response cannot be due after the resolution")
    if priority not in PRIORITIES:
        raise QueueError(f"优先级为 1（紧急）到 4（低） priority is 1 (urgent) to 4 (low): {priority}")
    unknown = [k for k in kinds or () if k not in KINDS]
    if unknown:
        raise QueueError(f"未知的工单类型 unknown ticket kinds: {', '.join(unknown)} (one of {', '.join(KINDS)})")
    if categories is not None:
        categories = await _category_codes(s, categories)
    queues = QueueRepository(s)
    if await queues.by_code(org.id, code) is not None:
        raise QueueError(f"该机构已有此队列 {organisation} already has a queue {code}")
    return await queues.create(
        organisation_id=org.id,
        code=code,
        name=name,
        categories=[c.strip() for c in categories if c.strip()] if categories is not None else None,
        kinds=list(kinds) if kinds is not None else None,
        priority=priority,
        first_response_minutes=first_response_minutes,
        resolution_minutes=resolution_minutes,
        now=now,
    )


async def _category_codes(s: AsyncSession, words: Sequence[str]) -> list[str]:
    """Codes for the categories named (人道救助 or humanitarian_aid): a queue for a category
    no flow has would silently never take a ticket. With no flow published yet (`huifang db
    upgrade` seeds the defaults) there is nothing to check against: the codes are kept."""
    wanted = [w.strip() for w in words if w.strip()]
    latest = await FlowRepository(s).list_latest()
    if not latest:
        return wanted
    named = category_words(latest)
    unknown = [word for word in wanted if named.code_of(word) is None]
    if unknown:
        known = ", ".join(sorted(named.names))
        raise QueueError(f"未知的类别 unknown categories: {', '.join(unknown)}（可用 valid: {known}）")
    return list(dict.fromkeys(code for word in wanted if (code := named.code_of(word)) is not None))


async def list_queues(s: AsyncSession, *, scope: Scope | None = None) -> list[QueueRead]:
    """The queues of the organisations in `scope` (all by default), tree order."""
    organisations = await OrganisationRepository(s).list(scope)
    codes = {o.id: o.code for o in organisations}
    order = {o.id: i for i, o in enumerate(organisations)}
    queues = await QueueRepository(s).for_organisations(list(codes))
    queues.sort(key=lambda q: (order[q.organisation_id], q.code))
    return [
        QueueRead(
            id=q.id,
            organisation_code=codes[q.organisation_id],
            code=q.code,
            name=q.name,
            categories=q.categories,
            kinds=q.kinds,
            priority=q.priority,
            first_response_minutes=q.first_response_minutes,
            resolution_minutes=q.resolution_minutes,
        )
        for q in queues
    ]


async def queue_for(
    s: AsyncSession,
    *,
    organisation_id: int,
    category: str | None,
    kind: str,
    config: TicketConfig,
    now: datetime,
    prefer_code: str | None = None,
) -> TicketQueue:
    """Where a ticket of this organisation, category and kind goes (see the module's note)."""
    queues = QueueRepository(s)
    found = await queues.route(organisation_id, category, kind, prefer_code=prefer_code)
    if found is not None:
        return found
    return await queues.ensure_default(
        organisation_id=organisation_id,
        name=DEFAULT_NAME,
        first_response_minutes=_minutes(config.first_response),
        resolution_minutes=_minutes(config.resolution),
        now=now,
    )


async def root_organisation_id(s: AsyncSession) -> int | None:
    """The organisation a ticket of a respondent without one belongs to: the (oldest) root
    of the tree, the city society; None while there are no organisations at all."""
    return await s.scalar(
        select(Organisation.id).where(Organisation.parent_id.is_(None)).order_by(Organisation.id).limit(1)
    )


def _minutes(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() // 60))
