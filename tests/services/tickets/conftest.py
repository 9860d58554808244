"""A small Red Cross world for the ticket tests: 成都 (city) → 锦江, 武侯 (districts);
锦江 → 春熙路 (grassroots); staff of each kind; respondents reachable on the console.

Staff are made directly through the model (the console branch brings the real accounts
service); ids only cross transactions, objects are loaded again in each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.organisations import add_organisation
from storage.db import Database
from storage.models import Respondent, StaffUser, Ticket
from storage.repositories.respondents import RespondentRepository

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    db: Database
    orgs: dict[str, int]
    staff: dict[str, int]  # city_admin, jj_staff, jj_quiet (notify none), jj_viewer, wh_staff
    people: dict[str, int]  # jj (锦江), wh (武侯), station (春熙路), orgless

    async def user(self, s: AsyncSession, name: str) -> StaffUser:
        user = await s.get(StaffUser, self.staff[name])
        assert user is not None
        return user

    async def person(self, s: AsyncSession, name: str) -> Respondent:
        person = await s.get(Respondent, self.people[name])
        assert person is not None
        return person

    async def ticket(self, s: AsyncSession, ticket_id: int) -> Ticket:
        ticket = await s.get(Ticket, ticket_id, populate_existing=True)
        assert ticket is not None
        return ticket


def staff_user(username: str, role: str, organisation_id: int, notify_via: str = "wecom") -> StaffUser:
    return StaffUser(
        username=username, display_name=username, password_hash="x", role=role, organisation_id=organisation_id,
        notify_via=notify_via, created_at=T0, updated_at=T0,
    )  # fmt: skip


@pytest_asyncio.fixture
async def world(db: Database) -> World:
    async with db.transaction() as s:
        city = await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        jinjiang = await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=T0)
        wuhou = await add_organisation(s, code="wuhou", name="武侯区红十字会", parent="chengdu", now=T0)
        station = await add_organisation(s, code="chunxi", name="春熙路服务站", parent="jinjiang", now=T0)
        users = {
            "city_admin": staff_user("city_admin", "admin", city.id, "email"),
            "jj_staff": staff_user("jj_staff", "staff", jinjiang.id),
            "jj_quiet": staff_user("jj_quiet", "staff", jinjiang.id, "none"),
            "jj_viewer": staff_user("jj_viewer", "viewer", jinjiang.id),
            "wh_staff": staff_user("wh_staff", "staff", wuhou.id),
        }
        s.add_all(users.values())
        await s.flush()
        repo = RespondentRepository(s)
        people = {}
        for name, org in (("jj", jinjiang.id), ("wh", wuhou.id), ("station", station.id), ("orgless", None)):
            person = await repo.create(category="humanitarian_aid", organisation_id=org, at=T0)
            await repo.add_identity(person, channel="console", account="local", external_id=f"ext-{name}", at=T0)
            people[name] = person.id
        return World(
            db=db,
            orgs={o.code: o.id for o in (city, jinjiang, wuhou, station)},
            staff={name: u.id for name, u in users.items()},
            people=people,
        )
