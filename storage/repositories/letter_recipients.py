"""Who gets a personal QR letter: respondents in a scope, by category, organisation, tag,
and whether they follow a WeChat account yet."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Organisation, Respondent
from storage.repositories.organisations import Scope, in_scope


def has_tag(session: AsyncSession, tag: str) -> ColumnElement[bool]:
    """The respondent's tags (a JSON list) hold `tag` exactly."""
    if session.get_bind().dialect.name == "postgresql":
        return Respondent.tags.op("@>")(func.jsonb_build_array(literal(tag)))
    each = func.json_each(Respondent.tags).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == tag))


async def letter_recipients(
    session: AsyncSession,
    scope: Scope,
    *,
    category: str | None = None,
    tag: str | None = None,
    not_following: bool = True,
    limit: int,
) -> tuple[list[tuple[Respondent, Organisation]], int]:
    """Up to `limit` respondents in `scope` (their organisation with each), oldest first,
    and how many match in all. Never opted-out or test respondents, nor people of no
    organisation (no account to make their code on). `not_following`: only those with no
    WeChat identity yet."""
    where: list[ColumnElement[bool]] = [
        in_scope(Respondent.organisation_id, scope),
        Respondent.is_test.is_(False),
        Respondent.opted_out_at.is_(None),
    ]
    if category:
        where.append(Respondent.category == category)
    if tag:
        where.append(has_tag(session, tag))
    if not_following:
        where.append(
            ~exists().where(ChannelIdentity.respondent_id == Respondent.id, ChannelIdentity.channel == "wechat")
        )
    total = await session.scalar(select(func.count()).select_from(Respondent).where(*where)) or 0
    rows = await session.execute(
        select(Respondent, Organisation)
        .join(Organisation, Organisation.id == Respondent.organisation_id)
        .where(*where)
        .order_by(Respondent.id)
        .limit(limit)
    )
    return [(r, o) for r, o in rows], total
