from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Respondent
from storage.models.channel_identity import CHANNELS
from storage.name_keys import pinyin_key, pinyin_query
from storage.repositories._time import utcnow
from storage.repositories.organisations import Scope, in_scope

LANGUAGES = ("zh", "en")


class IdentityTaken(Exception):
    """The channel identity already belongs to another respondent."""


class RespondentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, respondent_id: int) -> Respondent | None:
        return await self.session.get(Respondent, respondent_id)

    async def by_identity(self, channel: str, account: str, external_id: str) -> Respondent | None:
        return await self.session.scalar(
            _BY_IDENTITY, {"channel": channel, "account": account, "external_id": external_id}
        )

    async def identities(self, respondent: Respondent) -> list[ChannelIdentity]:
        rows = await self.session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.respondent_id == respondent.id).order_by(ChannelIdentity.id)
        )
        return list(rows)

    async def create(
        self,
        *,
        category: str,
        name: str | None = None,
        phone: str | None = None,
        lang: str = "zh",
        organisation_id: int | None = None,
        is_test: bool = False,
        at: datetime | None = None,
    ) -> Respondent:
        if not category or not category.strip():
            raise ValueError("a respondent needs a category code")
        if lang not in LANGUAGES:
            raise ValueError(f"unsupported language {lang!r}: use one of {', '.join(LANGUAGES)}")
        at = at or utcnow()
        respondent = Respondent(
            category=category,
            name=name,
            name_pinyin=pinyin_key(name),
            phone=phone,
            lang=lang,
            organisation_id=organisation_id,
            is_test=is_test,
            created_at=at,
            updated_at=at,
        )
        self.session.add(respondent)
        await self.session.flush()
        return respondent

    async def add_identity(
        self,
        respondent: Respondent,
        *,
        channel: str,
        account: str,
        external_id: str,
        at: datetime | None = None,
    ) -> ChannelIdentity:
        """Link a channel identity; adding the same link again returns the existing one.

        Raises IdentityTaken when it is linked to someone else: silently moving it would
        route one person's answers into another person's survey.
        """
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)}")
        if not account or not external_id:
            raise ValueError("a channel identity needs an account and an external id")
        existing = await self.session.scalar(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == channel,
                ChannelIdentity.account == account,
                ChannelIdentity.external_id == external_id,
            )
        )
        if existing is not None:
            if existing.respondent_id == respondent.id:
                return existing
            raise IdentityTaken(
                f"{channel}:{account}:{external_id} already belongs to respondent {existing.respondent_id}"
            )
        identity = ChannelIdentity(
            respondent_id=respondent.id,
            channel=channel,
            account=account,
            external_id=external_id,
            created_at=at or utcnow(),
        )
        self.session.add(identity)
        await self.session.flush()
        return identity

    async def in_scope(
        self, scope: Scope, *, include_tests: bool = False, limit: int = 100, offset: int = 0
    ) -> list[Respondent]:
        """The respondents of the organisations in `scope`, newest first."""
        query = select(Respondent).where(in_scope(Respondent.organisation_id, scope))
        if not include_tests:
            query = query.where(Respondent.is_test.is_(False))
        query = query.order_by(Respondent.id.desc()).limit(limit).offset(offset)
        return list(await self.session.scalars(query))

    async def search(
        self,
        scope: Scope,
        *,
        name: str | None = None,
        phone_digits: str | None = None,
        category: str | None = None,
        include_tests: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Respondent], int]:
        """Respondents in `scope`, newest first, and how many match in all. `phone_digits`
        matches the end of the stored number: the last four, or a whole number whatever
        prefix (+86) it was stored with."""
        where: list[ColumnElement[bool]] = [in_scope(Respondent.organisation_id, scope)]
        if not include_tests:
            where.append(Respondent.is_test.is_(False))
        if name:
            letters = pinyin_query(name)
            by_name = Respondent.name.contains(name, autoescape=True)
            # "zsf", "zhangsan", "Zhang San": the name's pinyin, as well as its own letters.
            where.append(or_(by_name, Respondent.name_pinyin.contains(letters)) if letters else by_name)
        if phone_digits:
            where.append(Respondent.phone.endswith(phone_digits, autoescape=True))
        if category:
            where.append(Respondent.category == category)
        total = await self.session.scalar(select(func.count()).select_from(Respondent).where(*where)) or 0
        rows = await self.session.scalars(
            select(Respondent).where(*where).order_by(Respondent.id.desc()).limit(limit).offset(offset)
        )
        return list(rows), total

    async def count_by_organisation(self, scope: Scope, *, include_tests: bool = False) -> dict[int | None, int]:
        """How many respondents each organisation in `scope` has (None: of no organisation,
        seen by the whole-system scope and the city society's, see `in_scope`)."""
        query = select(Respondent.organisation_id, func.count()).where(in_scope(Respondent.organisation_id, scope))
        if not include_tests:
            query = query.where(Respondent.is_test.is_(False))
        rows = await self.session.execute(query.group_by(Respondent.organisation_id))
        return {org: count for org, count in rows}

    async def record_consent(self, respondent: Respondent, *, at: datetime) -> None:
        respondent.consent_at = at
        respondent.updated_at = at

    async def opt_out(self, respondent: Respondent, *, at: datetime) -> None:
        """Idempotent: the first opt-out time is kept."""
        if respondent.opted_out_at is None:
            respondent.opted_out_at = at
        respondent.updated_at = at

    async def clear_opt_out(self, respondent: Respondent, *, at: datetime) -> None:
        """The respondent asked to take part again (e.g. subscribed or pressed start)."""
        respondent.opted_out_at = None
        respondent.updated_at = at

    async def clear_unreachable(self, respondent: Respondent, *, at: datetime) -> None:
        """The respondent wrote to us again (e.g. followed the account again): reachable."""
        respondent.unreachable_at = None
        respondent.unreachable_reason = None
        respondent.updated_at = at

    async def mark_unreachable(self, respondent: Respondent, *, at: datetime, reason: str) -> None:
        respondent.unreachable_at = at
        respondent.unreachable_reason = reason
        respondent.updated_at = at


# Built once: this runs for every inbound message.
_BY_IDENTITY = (
    select(Respondent)
    .join(ChannelIdentity, ChannelIdentity.respondent_id == Respondent.id)
    .where(
        ChannelIdentity.channel == bindparam("channel"),
        ChannelIdentity.account == bindparam("account"),
        ChannelIdentity.external_id == bindparam("external_id"),
    )
)
