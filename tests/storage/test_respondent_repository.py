from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import ChannelIdentity, Respondent
from storage.repositories import IdentityTaken, OrganisationRepository, RespondentRepository

MakeRespondent = Callable[..., Awaitable[int]]


async def test_create_and_get_with_defaults(db: Database, t0: datetime) -> None:
    async with db.transaction() as s:
        organisation = await OrganisationRepository(s).create(
            code="sh", name="上海市红十字会", at=t0
        )
        created = await RespondentRepository(s).create(
            category="blood_donor",
            name="王阿姨",
            phone="13800000000",
            organisation_id=organisation.id,
            at=t0,
        )
    async with db.transaction() as s:
        respondent = await RespondentRepository(s).get(created.id)
    assert respondent is not None
    assert (respondent.category, respondent.name, respondent.lang) == (
        "blood_donor",
        "王阿姨",
        "zh",
    )
    assert respondent.organisation_id == organisation.id
    assert respondent.created_at == t0 and respondent.updated_at == t0
    assert respondent.consent_at is None and respondent.opted_out_at is None


async def test_bad_input_is_refused_and_nothing_written(db: Database) -> None:
    async with db.transaction() as s:
        repo = RespondentRepository(s)
        with pytest.raises(ValueError, match="category"):
            await repo.create(category=" ")
        with pytest.raises(ValueError, match="unsupported language 'fr'"):
            await repo.create(category="elderly", lang="fr")
        assert await s.scalar(select(func.count()).select_from(Respondent)) == 0


async def test_found_by_identity_only_on_its_channel_and_account(
    db: Database, make_respondent: MakeRespondent, t0: datetime
) -> None:
    respondent_id = await make_respondent()
    async with db.transaction() as s:
        repo = RespondentRepository(s)
        respondent = await repo.get(respondent_id)
        assert respondent is not None
        await repo.add_identity(
            respondent, channel="wechat", account="gh_redcross", external_id="oABC", at=t0
        )
    async with db.transaction() as s:
        repo = RespondentRepository(s)
        found = await repo.by_identity("wechat", "gh_redcross", "oABC")
        assert found is not None and found.id == respondent_id
        assert await repo.by_identity("wechat", "gh_other", "oABC") is None
        assert await repo.by_identity("telegram", "gh_redcross", "oABC") is None


async def test_adding_the_same_identity_again_returns_it(
    db: Database, make_respondent: MakeRespondent, t0: datetime
) -> None:
    respondent_id = await make_respondent()
    async with db.transaction() as s:
        repo = RespondentRepository(s)
        respondent = await repo.get(respondent_id)
        assert respondent is not None
        first = await repo.add_identity(
            respondent, channel="telegram", account="bot1", external_id="42", at=t0
        )
        again = await repo.add_identity(
            respondent, channel="telegram", account="bot1", external_id="42", at=t0
        )
        assert again.id == first.id
        assert [i.id for i in await repo.identities(respondent)] == [first.id]


async def test_identity_of_someone_else_is_refused(
    db: Database, make_respondent: MakeRespondent, t0: datetime
) -> None:
    first_id, second_id = await make_respondent(), await make_respondent()
    async with db.transaction() as s:
        repo = RespondentRepository(s)
        first, second = await repo.get(first_id), await repo.get(second_id)
        assert first is not None and second is not None
        await repo.add_identity(first, channel="wechat", account="gh", external_id="o1", at=t0)
        with pytest.raises(IdentityTaken, match=f"belongs to respondent {first_id}"):
            await repo.add_identity(second, channel="wechat", account="gh", external_id="o1", at=t0)
    async with db.transaction() as s:
        found = await RespondentRepository(s).by_identity("wechat", "gh", "o1")
        assert found is not None and found.id == first_id


async def test_database_itself_refuses_a_duplicate_identity(
    db: Database, make_respondent: MakeRespondent, t0: datetime
) -> None:
    # Two processes racing past the repository's check still cannot both insert.
    first_id, second_id = await make_respondent(), await make_respondent()
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            for respondent_id in (first_id, second_id):
                s.add(
                    ChannelIdentity(
                        respondent_id=respondent_id,
                        channel="wechat",
                        account="gh",
                        external_id="o1",
                        created_at=t0,
                    )
                )
                await s.flush()
    async with db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(ChannelIdentity)) == 0


async def test_unknown_channel_is_refused(db: Database, make_respondent: MakeRespondent) -> None:
    respondent_id = await make_respondent()
    async with db.transaction() as s:
        repo = RespondentRepository(s)
        respondent = await repo.get(respondent_id)
        assert respondent is not None
        with pytest.raises(ValueError, match="unknown channel 'sms'"):
            await repo.add_identity(respondent, channel="sms", account="a", external_id="1")
        assert await s.scalar(select(func.count()).select_from(ChannelIdentity)) == 0


async def test_consent_opt_out_and_unreachable_are_kept(
    db: Database, make_respondent: MakeRespondent, t0: datetime
) -> None:
    respondent_id = await make_respondent()
    async with db.transaction() as s:
        repo = RespondentRepository(s)
        respondent = await repo.get(respondent_id)
        assert respondent is not None
        await repo.record_consent(respondent, at=t0 + timedelta(minutes=1))
        await repo.opt_out(respondent, at=t0 + timedelta(minutes=2))
        await repo.opt_out(respondent, at=t0 + timedelta(minutes=3))  # first time is kept
        await repo.mark_unreachable(
            respondent, at=t0 + timedelta(minutes=4), reason="45015: 超过48小时"
        )
    async with db.transaction() as s:
        stored = await RespondentRepository(s).get(respondent_id)
    assert stored is not None
    assert stored.consent_at == t0 + timedelta(minutes=1)
    assert stored.opted_out_at == t0 + timedelta(minutes=2)
    assert stored.unreachable_at == t0 + timedelta(minutes=4)
    assert stored.unreachable_reason == "45015: 超过48小时"
    assert stored.updated_at == t0 + timedelta(minutes=4)


async def test_opt_out_is_cleared_only_when_asked(
    db: Database, make_respondent: MakeRespondent, t0: datetime
) -> None:
    respondent_id = await make_respondent()
    async with db.transaction() as s:
        repo = RespondentRepository(s)
        respondent = await repo.get(respondent_id)
        assert respondent is not None
        await repo.opt_out(respondent, at=t0 + timedelta(minutes=10))
        await repo.record_consent(respondent, at=t0 + timedelta(minutes=20))
        assert respondent.opted_out_at == t0 + timedelta(minutes=10)
        await repo.clear_opt_out(respondent, at=t0 + timedelta(minutes=30))
    async with db.transaction() as s:
        stored = await RespondentRepository(s).get(respondent_id)
    assert stored is not None
    assert stored.opted_out_at is None
    assert stored.consent_at == t0 + timedelta(minutes=20)
    assert stored.updated_at == t0 + timedelta(minutes=30)
