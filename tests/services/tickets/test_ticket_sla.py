"""SLA checks by the scheduler (`ticket_sla`) with a controlled clock: a breached ticket
moves to the parent organisation's queue with a raised priority, once per breach; at the
root it stays but is marked again; the right people get a "breached" notice."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bot.dispatch.scheduler import run_due_jobs_once
from bot.services import tickets
from bot.services.catalog import FlowCache
from bot.services.jobs import JobConfig, JobContext, ensure_recurring, ticket_sla
from bot.services.ticket_config import TicketConfig
from bot.services.working_time import SHANGHAI, parse_working_time
from bot.settings import Settings
from flows.engine import DEFAULT_CONFIG
from storage.models import DueJob, StaffNotice, TicketQueue
from storage.repositories.tickets import TicketRepository
from tests.services.tickets.conftest import T0, World
from tests.services.tickets.test_tickets import open_for

MIN = timedelta(minutes=1)
CONFIG = JobConfig(engine=DEFAULT_CONFIG, flows=FlowCache(), expire_sweep_every=timedelta(minutes=10),
                   tickets=TicketConfig())  # fmt: skip


async def check(w: World, now: datetime) -> int:
    """One scheduler pass of the SLA job alone; how many jobs it ran."""
    stats = await run_due_jobs_once(
        w.db, {ticket_sla.KIND: ticket_sla.run}, now=now, batch=10, stale_after=timedelta(minutes=5), max_attempts=3,
        config=CONFIG,
    )  # fmt: skip
    return stats.done


async def breaches(w: World, ticket_id: int) -> list[dict]:
    async with w.db.transaction() as s:
        return [e.data or {} for e in await TicketRepository(s).events(ticket_id) if e.kind == "sla_breached"]


async def test_a_try_outs_ticket_pings_nobody_and_never_climbs_to_the_city(world: World) -> None:
    """Someone trying a flow in the simulator or the terminal (a test respondent) may open a
    ticket to see the loop; the district's staff are not pinged for it, and it is not
    escalated to the city when its clocks run out."""
    async with world.db.transaction() as s:
        person = await world.person(s, "jj")
        person.is_test = True
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        await ensure_recurring(s, JobContext(now=T0, config=CONFIG))
        assert list(await s.scalars(select(StaffNotice))) == []
    assert await check(world, T0 + 241 * MIN) == 1
    assert await breaches(world, ticket_id) == []
    async with world.db.transaction() as s:
        t = await world.ticket(s, ticket_id)
        assert (t.status, t.escalation_level) == ("new", 0)


async def test_a_breach_escalates_to_the_parent_queue_once_and_the_root_marks_it_again(world: World) -> None:
    ticket_id = await open_for(world)  # 锦江's default queue: first response due in 240 min
    async with world.db.transaction() as s:
        await ensure_recurring(s, JobContext(now=T0, config=CONFIG))

    assert await check(world, T0 + 239 * MIN) == 1  # the first slot's run: nothing past due yet
    assert await breaches(world, ticket_id) == []

    breached_at = T0 + 241 * MIN
    assert await check(world, breached_at) == 1
    async with world.db.transaction() as s:
        t = await world.ticket(s, ticket_id)
        queue = await s.get(TicketQueue, t.queue_id)
        assert queue is not None and (queue.organisation_id, queue.code) == (world.orgs["chengdu"], "default")
        assert (t.status, t.priority, t.escalation_level, t.version) == ("escalated", 1, 1, 2)
        assert t.organisation_id == world.orgs["jinjiang"]  # still 锦江's: its staff keep seeing it
        assert t.first_response_due_at == breached_at + 240 * MIN  # the new queue's clocks
        assert t.resolution_due_at == breached_at + 2880 * MIN
        notices = list(await s.scalars(select(StaffNotice).where(StaffNotice.kind == "breached")))
        # Unassigned: the staff of the queue it now waits in (the city's admin).
        assert [n.user_id for n in notices] == [world.staff["city_admin"]]
    (first,) = await breaches(world, ticket_id)
    assert first["breached"] == ["first_response"] and first["moved_up"] is True and first["level"] == 1

    # The next slots: not past the new due times, so not escalated again.
    assert await check(world, T0 + 246 * MIN) == 1
    assert await check(world, T0 + 400 * MIN) == 1
    assert len(await breaches(world, ticket_id)) == 1

    # Past the city queue's first response too: the root keeps it, marked once more.
    again = breached_at + 241 * MIN
    assert await check(world, again) == 1
    async with world.db.transaction() as s:
        t = await world.ticket(s, ticket_id)
        assert (t.status, t.priority, t.escalation_level) == ("escalated", 1, 2)
        queue = await s.get(TicketQueue, t.queue_id)
        assert queue is not None and queue.organisation_id == world.orgs["chengdu"]
        # One pending run per slot, however often the chain was extended.
        pending = list(await s.scalars(select(DueJob).where(DueJob.kind == "ticket_sla", DueJob.status == "pending")))
        assert len(pending) == 1
    second = (await breaches(world, ticket_id))[1]
    assert second["moved_up"] is False and second["level"] == 2


async def test_an_assigned_ticket_past_its_resolution_time_tells_its_assignee(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        staff = await world.user(s, "jj_staff")
        t = await tickets.assign(s, await world.ticket(s, ticket_id), to_user=staff, by=staff, expected_version=1,
                                 now=T0 + 10 * MIN)  # fmt: skip
        t = await tickets.start(s, t, by=staff, expected_version=2, now=T0 + 11 * MIN)
        assert await TicketRepository(s).due_for_sla(T0 + 2879 * MIN) == []
        assert await TicketRepository(s).due_for_sla(T0 + 2880 * MIN) == [ticket_id]
    async with world.db.transaction() as s:
        # Directly through the service as the job calls it; twice, as a job run again would.
        now = T0 + 2881 * MIN
        assert await tickets.escalate_for_sla(s, await world.ticket(s, ticket_id), now=now) is True
        assert await tickets.escalate_for_sla(s, await world.ticket(s, ticket_id), now=now) is False
        t = await world.ticket(s, ticket_id)
        assert (t.status, t.assignee_id, t.priority, t.version) == ("escalated", world.staff["jj_staff"], 1, 4)
        notices = list(await s.scalars(select(StaffNotice).where(StaffNotice.kind == "breached")))
        assert [n.user_id for n in notices] == [world.staff["jj_staff"]]
        # Escalated: the machine wants it assigned again (by a colleague above, or the same person).
        city_admin = await world.user(s, "city_admin")
        t = await tickets.assign(s, t, to_user=city_admin, by=city_admin, expected_version=4, now=now + MIN)
        assert (t.status, t.assignee_id) == ("assigned", city_admin.id)


async def test_resolved_and_closed_tickets_have_no_running_clock(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        staff = await world.user(s, "jj_staff")
        t = await tickets.assign(s, await world.ticket(s, ticket_id), to_user=staff, by=staff, expected_version=1, now=T0)
        await tickets.resolve(s, t, resolution="已处理", by=staff, expected_version=2, now=T0 + MIN)
        assert await TicketRepository(s).due_for_sla(T0 + timedelta(days=30)) == []
        assert await tickets.escalate_for_sla(s, t, now=T0 + timedelta(days=30)) is False


async def test_with_office_hours_the_clocks_count_working_time_and_nothing_breaches_over_the_weekend(
    world: World,
) -> None:
    office = TicketConfig(working_time=parse_working_time("08:30-17:30", "1-5"))
    config = JobConfig(engine=DEFAULT_CONFIG, flows=FlowCache(), expire_sweep_every=timedelta(minutes=10),
                       tickets=office)  # fmt: skip
    friday_five_pm = datetime(2026, 6, 5, 17, 0, tzinfo=SHANGHAI)
    async with world.db.transaction() as s:
        ticket = await tickets.open_ticket(
            s, respondent=await world.person(s, "jj"), kind="complaint", text="救助款还没收到",
            category="humanitarian_aid", now=friday_five_pm, config=office,
        )  # fmt: skip
        assert ticket is not None
        # 240 working minutes: 30 on Friday, 210 from Monday's 08:30; 2880: six working days on.
        assert ticket.first_response_due_at == datetime(2026, 6, 8, 12, 0, tzinfo=SHANGHAI)
        assert ticket.resolution_due_at == datetime(2026, 6, 15, 11, 0, tzinfo=SHANGHAI)
        await ensure_recurring(s, JobContext(now=friday_five_pm, config=config))

    async def sla_check(at: datetime) -> None:
        await run_due_jobs_once(
            world.db, {ticket_sla.KIND: ticket_sla.run}, now=at, batch=10, stale_after=timedelta(minutes=5),
            max_attempts=3, config=config,
        )  # fmt: skip

    for saturday_hour in (9, 13, 21):  # well past four clock hours: not past four working hours
        await sla_check(datetime(2026, 6, 6, saturday_hour, 0, tzinfo=SHANGHAI))
    assert await breaches(world, ticket.id) == []
    monday = datetime(2026, 6, 8, 12, 1, tzinfo=SHANGHAI)
    await sla_check(monday)
    assert len(await breaches(world, ticket.id)) == 1
    async with world.db.transaction() as s:
        t = await world.ticket(s, ticket.id)
        assert t.first_response_due_at == datetime(2026, 6, 8, 16, 1, tzinfo=SHANGHAI)  # the new queue's clock, in hours


async def test_a_reopened_ticket_gets_its_resolution_clock_in_office_hours(world: World) -> None:
    office = TicketConfig(working_time=parse_working_time("08:30-17:30", "1-5"))
    ticket_id = await open_for(world)
    friday_evening = datetime(2026, 6, 5, 20, 0, tzinfo=SHANGHAI)
    async with world.db.transaction() as s:
        staff = await world.user(s, "jj_staff")
        t = await tickets.assign(s, await world.ticket(s, ticket_id), to_user=staff, by=staff, expected_version=1, now=T0)
        t = await tickets.resolve(s, t, resolution="已处理", by=staff, expected_version=2, now=T0)
        t = await tickets.reopen(s, t, by=staff, expected_version=3, now=friday_evening, config=office)
        # 2880 working minutes from Monday's opening: five days of nine hours, then 3 hours.
        assert t.resolution_due_at == datetime(2026, 6, 15, 11, 30, tzinfo=SHANGHAI)


def test_bad_office_hours_stop_the_start_with_the_setting_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIFANG_TICKET_WORKING_HOURS", "17:30-08:30")
    with pytest.raises(ValidationError, match=r"HUIFANG_TICKET_WORKING_\*: .*closing must come after opening"):
        Settings()
    monkeypatch.setenv("HUIFANG_TICKET_WORKING_HOURS", "08:30-17:30")
    monkeypatch.setenv("HUIFANG_TICKET_HOLIDAYS", "2026-10-01..2026-10-07")
    assert Settings().tickets.working_time.add(
        datetime(2026, 9, 30, 17, 0, tzinfo=SHANGHAI), timedelta(minutes=60)
    ) == datetime(2026, 10, 8, 9, 0, tzinfo=SHANGHAI)
