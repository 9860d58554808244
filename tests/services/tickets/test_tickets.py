"""The ticket service: every lifecycle move with its history and version, stale forms and
illegal moves refused without a change, who may act on what, routing, messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services import tickets
from bot.services.tickets import IllegalMove, NotPermitted, StaleTicket, TicketError
from storage.models import OutboxMessage, StaffNotice, TicketEvent, TicketQueue
from storage.repositories.organisations import OrganisationRepository, Scope
from storage.repositories.respondents import RespondentRepository
from storage.repositories.ticket_queues import QueueRepository
from storage.repositories.tickets import TicketRepository
from tests.services.tickets.conftest import T0, World

MIN = timedelta(minutes=1)


async def open_for(w: World, person: str = "jj", *, text: str = "救助款还没收到", kind: str = "complaint",
                   key: str | None = None) -> int:  # fmt: skip
    async with w.db.transaction() as s:
        ticket = await tickets.open_ticket(
            s, respondent=await w.person(s, person), kind=kind, text=text, category="humanitarian_aid",
            context={"question": "overall"}, now=T0, dedup_key=key,
        )  # fmt: skip
        assert ticket is not None
        return ticket.id


async def history(w: World, ticket_id: int) -> list[tuple[str, str | None, str | None]]:
    async with w.db.transaction() as s:
        return [(e.kind, e.from_status, e.to_status) for e in await TicketRepository(s).events(ticket_id)]


async def test_open_routes_to_a_default_queue_starts_the_clocks_and_tells_listening_staff(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        t = await world.ticket(s, ticket_id)
        queue = await s.get(TicketQueue, t.queue_id)
        assert queue is not None and (queue.organisation_id, queue.code) == (world.orgs["jinjiang"], "default")
        assert (queue.first_response_minutes, queue.resolution_minutes) == (240, 2880)
        assert (t.status, t.version, t.priority, t.organisation_id) == ("new", 1, 2, world.orgs["jinjiang"])
        assert t.first_response_due_at == T0 + 240 * MIN and t.resolution_due_at == T0 + 2880 * MIN
        notices = list(await s.scalars(select(StaffNotice).order_by(StaffNotice.id)))
        # jj_quiet chose no notices; the viewer cannot act; other districts are not told.
        assert [(n.user_id, n.kind) for n in notices] == [(world.staff["jj_staff"], "new")]
        assert "救助款还没收到" in notices[0].text
    assert await history(world, ticket_id) == [("opened", None, "new"), ("notified", None, None)]


async def test_every_move_goes_through_the_service_with_history_and_a_new_version(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        staff = await world.user(s, "jj_staff")
        t = await tickets.assign(s, await world.ticket(s, ticket_id), to_user=staff, by=staff, expected_version=1,
                                 now=T0 + 5 * MIN)  # fmt: skip
        assert (t.status, t.version, t.assignee_id, t.first_response_at) == ("assigned", 2, staff.id, T0 + 5 * MIN)
        t = await tickets.start(s, t, by=staff, expected_version=2, now=T0 + 6 * MIN)
        assert (t.status, t.version) == ("in_progress", 3)
        note = await tickets.add_note(s, t, text="已电话联系，明天送到", by=staff, now=T0 + 7 * MIN)
        assert note.kind == "note" and t.version == 3  # a note moves nothing
        t = await tickets.resolve(s, t, resolution="补发了救助款", by=staff, expected_version=3, now=T0 + 8 * MIN)
        assert (t.status, t.version, t.resolution, t.resolved_at) == ("resolved", 4, "补发了救助款", T0 + 8 * MIN)
        person = await world.person(s, "jj")
        t = await tickets.reopen(s, t, by=f"respondent:{person.id}", expected_version=4, now=T0 + 9 * MIN,
                                 reason="还没有收到")  # fmt: skip
        assert (t.status, t.version, t.priority, t.reopen_count) == ("reopened", 5, 1, 1)
        assert t.resolved_at is None and t.resolution_due_at == T0 + 9 * MIN + 2880 * MIN
        reopened = await s.scalar(select(StaffNotice).where(StaffNotice.kind == "reopened"))
        assert reopened is not None and reopened.user_id == staff.id
        t = await tickets.assign(s, t, to_user=staff, by=staff, expected_version=5, now=T0 + 10 * MIN)
        t = await tickets.resolve(s, t, resolution="当面送到", by=staff, expected_version=6, now=T0 + 11 * MIN)
        t = await tickets.confirm(s, t, by=f"respondent:{person.id}", expected_version=7, now=T0 + 12 * MIN,
                                  satisfaction="satisfied")  # fmt: skip
        assert (t.status, t.version, t.closed_at, t.satisfaction) == ("confirmed", 8, T0 + 12 * MIN, "satisfied")
        assert t.first_response_at == T0 + 5 * MIN  # the first assignment, not the later ones
    moves = [entry for entry in await history(world, ticket_id) if entry[0] != "notified"]
    assert moves == [
        ("opened", None, "new"),
        ("moved", "new", "assigned"),
        ("moved", "assigned", "in_progress"),
        ("note", None, None),
        ("moved", "in_progress", "resolved"),
        ("moved", "resolved", "reopened"),
        ("moved", "reopened", "assigned"),
        ("moved", "assigned", "resolved"),
        ("moved", "resolved", "confirmed"),
    ]
    async with world.db.transaction() as s:
        events = await TicketRepository(s).events(ticket_id)
        resolved = [e for e in events if e.to_status == "resolved"]
        assert [e.text for e in resolved] == ["补发了救助款", "当面送到"]  # the history keeps each resolution
        assert [e.actor for e in events if e.to_status == "reopened"] == [f"respondent:{world.people['jj']}"]


async def test_leave_unconfirmed_by_the_system_closes_it(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        staff = await world.user(s, "jj_staff")
        t = await tickets.assign(s, await world.ticket(s, ticket_id), to_user=staff, by=staff, expected_version=1, now=T0)
        t = await tickets.resolve(s, t, resolution="已处理", by=staff, expected_version=2, now=T0)
        t = await tickets.leave_unconfirmed(s, t, by="system", expected_version=None, now=T0 + timedelta(days=7))
        assert (t.status, t.closed_at, t.version) == ("unconfirmed", T0 + timedelta(days=7), 4)
        # Staff may reopen a closed ticket.
        t = await tickets.reopen(s, t, by=staff, expected_version=4, now=T0 + timedelta(days=8))
        assert (t.status, t.closed_at) == ("reopened", None)


async def test_a_stale_form_is_refused_and_nothing_changes(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        staff, admin = await world.user(s, "jj_staff"), await world.user(s, "city_admin")
        await tickets.assign(s, await world.ticket(s, ticket_id), to_user=staff, by=staff, expected_version=1, now=T0)
    before = await history(world, ticket_id)
    async with world.db.transaction() as s:
        admin = await world.user(s, "city_admin")
        with pytest.raises(StaleTicket) as refused:
            # The admin's form was filled in on version 1, before the colleague took it.
            await tickets.assign(s, await world.ticket(s, ticket_id), to_user=admin, by=admin, expected_version=1,
                                 now=T0 + MIN)  # fmt: skip
        message = str(refused.value)
        assert "已被他人修改" in message and "reload it" in message and "version 2" in message
        t = await world.ticket(s, ticket_id)
        assert (t.status, t.version, t.assignee_id) == ("assigned", 2, world.staff["jj_staff"])
    assert await history(world, ticket_id) == before


@pytest.mark.parametrize(
    ("setup", "trigger", "allowed"),
    [
        ([], "start", "assign, escalate"),
        ([], "confirm", "assign, escalate"),
        (["assign"], "reopen", "assign, escalate, resolve, start"),
    ],
)
async def test_illegal_moves_are_refused_with_what_is_allowed(
    world: World, setup: list[str], trigger: str, allowed: str
) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        staff = await world.user(s, "jj_staff")
        t = await world.ticket(s, ticket_id)
        for _ in setup:
            t = await tickets.assign(s, t, to_user=staff, by=staff, expected_version=t.version, now=T0)
        status, version = t.status, t.version
        moves = {
            "start": lambda: tickets.start(s, t, by=staff, expected_version=version, now=T0),
            "confirm": lambda: tickets.confirm(s, t, by=staff, expected_version=version, now=T0),
            "reopen": lambda: tickets.reopen(s, t, by=staff, expected_version=version, now=T0),
        }
        with pytest.raises(IllegalMove) as refused:
            await moves[trigger]()
        assert f"当前状态为 {status}，不能执行 {trigger}" in str(refused.value)
        assert f"is {status}: {trigger} is not allowed (allowed: {allowed})" in str(refused.value)
        t = await world.ticket(s, ticket_id)
        assert (t.status, t.version) == (status, version)


async def test_a_resolution_and_a_note_need_words(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        staff = await world.user(s, "jj_staff")
        t = await tickets.assign(s, await world.ticket(s, ticket_id), to_user=staff, by=staff, expected_version=1, now=T0)
        with pytest.raises(TicketError, match="a resolution is required"):
            await tickets.resolve(s, t, resolution="  ", by=staff, expected_version=2, now=T0)
        with pytest.raises(TicketError, match="a note needs some text"):
            await tickets.add_note(s, t, text="", by=staff, now=T0)
        assert (await world.ticket(s, ticket_id)).status == "assigned"


async def test_another_district_cannot_read_or_act_and_the_city_can(world: World) -> None:
    ticket_id = await open_for(world)  # a 锦江 respondent's ticket
    async with world.db.transaction() as s:
        other = await world.user(s, "wh_staff")
        repo = TicketRepository(s)
        wuhou = await OrganisationRepository(s).get(world.orgs["wuhou"])
        city = await OrganisationRepository(s).get(world.orgs["chengdu"])
        assert wuhou is not None and city is not None
        assert await repo.get(ticket_id, Scope.of(wuhou)) is None
        assert await repo.list(Scope.of(wuhou)) == []
        assert (await repo.get(ticket_id, Scope.of(city))) is not None
        t = await world.ticket(s, ticket_id)
        with pytest.raises(NotPermitted, match="outside your organisation"):
            await tickets.assign(s, t, to_user=other, by=other, expected_version=1, now=T0)
        with pytest.raises(NotPermitted, match="outside your organisation"):
            await tickets.add_note(s, t, text="看看", by=other, now=T0)
        admin = await world.user(s, "city_admin")
        with pytest.raises(NotPermitted, match="outside wh_staff's organisation"):
            await tickets.assign(s, t, to_user=other, by=admin, expected_version=1, now=T0)
        t = await tickets.assign(s, t, to_user=await world.user(s, "jj_staff"), by=admin, expected_version=1, now=T0)
        assert t.version == 2
    assert [k for k, _, _ in await history(world, ticket_id)].count("note") == 0


async def test_a_viewer_reads_but_cannot_act(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        viewer = await world.user(s, "jj_viewer")
        jinjiang = await OrganisationRepository(s).get(world.orgs["jinjiang"])
        assert jinjiang is not None
        assert await TicketRepository(s).get(ticket_id, Scope.of(jinjiang)) is not None
        t = await world.ticket(s, ticket_id)
        for act in (
            lambda: tickets.assign(s, t, to_user=viewer, by=viewer, expected_version=1, now=T0),
            lambda: tickets.add_note(s, t, text="note", by=viewer, now=T0),
            lambda: tickets.send_message(s, t, text="您好", by=viewer, now=T0),
        ):
            with pytest.raises(NotPermitted, match="a viewer cannot act on tickets"):
                await act()
        staff = await world.user(s, "jj_staff")
        with pytest.raises(NotPermitted, match="only go to active staff or admins"):
            await tickets.assign(s, t, to_user=viewer, by=staff, expected_version=1, now=T0)
        assert (await world.ticket(s, ticket_id)).version == 1


async def test_only_the_tickets_own_respondent_may_confirm_or_reopen_it(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        staff = await world.user(s, "jj_staff")
        t = await tickets.assign(s, await world.ticket(s, ticket_id), to_user=staff, by=staff, expected_version=1, now=T0)
        t = await tickets.resolve(s, t, resolution="已处理", by=staff, expected_version=2, now=T0)
        with pytest.raises(NotPermitted, match="only the ticket's own respondent"):
            await tickets.reopen(s, t, by=f"respondent:{world.people['wh']}", expected_version=None, now=T0)
        with pytest.raises(NotPermitted):
            await tickets.resolve(s, t, resolution="x", by=f"respondent:{world.people['jj']}", expected_version=None,
                                  now=T0)  # fmt: skip
        with pytest.raises(NotPermitted):
            await tickets.reopen(s, t, by="system", expected_version=None, now=T0)
        t = await tickets.confirm(s, t, by=f"respondent:{world.people['jj']}", expected_version=None, now=T0)
        assert t.status == "confirmed"


async def test_a_message_reaches_the_respondent_and_counts_as_the_first_response(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        staff = await world.user(s, "jj_staff")
        event = await tickets.send_message(s, await world.ticket(s, ticket_id), text="您好，我们正在核实。", by=staff,
                                           now=T0 + 3 * MIN)  # fmt: skip
        assert event.kind == "message" and event.data is not None and event.data["delivery"] == "queued"
        row = await s.get(OutboxMessage, event.data["outbox_id"])
        assert row is not None
        assert (row.kind, row.text, row.external_id, row.channel) == ("follow_up", "您好，我们正在核实。", "ext-jj", "console")
        t = await world.ticket(s, ticket_id)
        assert (t.first_response_at, t.version, t.status) == (T0 + 3 * MIN, 1, "new")


async def test_a_message_to_an_opted_out_respondent_is_recorded_as_unreachable(world: World) -> None:
    ticket_id = await open_for(world)
    async with world.db.transaction() as s:
        person = await world.person(s, "jj")
        await RespondentRepository(s).opt_out(person, at=T0 + MIN)
        staff = await world.user(s, "jj_staff")
        event = await tickets.send_message(s, await world.ticket(s, ticket_id), text="您好", by=staff, now=T0 + 2 * MIN)
        assert event.data is not None
        assert event.data["delivery"] == "unreachable" and event.data["outbox_id"] is None
        assert "opted_out" in event.data["reason"]
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert (await world.ticket(s, ticket_id)).first_response_at == T0 + 2 * MIN


async def test_someone_whose_answers_an_interviewer_typed_in_is_recorded_as_having_no_channel(world: World) -> None:
    # `huifang chat --interview`: nothing can be sent back there; staff call them instead.
    async with world.db.transaction() as s:
        person = await RespondentRepository(s).create(category="humanitarian_aid", organisation_id=world.orgs["jinjiang"], at=T0)
        await RespondentRepository(s).add_identity(person, channel="interview", account="local", external_id="interview-1",
                                                    at=T0)  # fmt: skip
        ticket = await tickets.open_ticket(s, respondent=person, kind="complaint", text="救助款还没收到", now=T0)
        assert ticket is not None
        staff = await world.user(s, "jj_staff")
        event = await tickets.send_message(s, ticket, text="您好", by=staff, now=T0 + MIN)
        assert event.data is not None and event.data["delivery"] == "unreachable"
        assert "没有联系渠道" in event.data["reason"]
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_routing_takes_the_most_specific_queue_then_the_nearest_ancestors(world: World) -> None:
    async with world.db.transaction() as s:
        queues = QueueRepository(s)
        jj, city = world.orgs["jinjiang"], world.orgs["chengdu"]
        await queues.create(organisation_id=jj, code="complaints", name="投诉", kinds=["complaint"],
                            first_response_minutes=60, resolution_minutes=600, now=T0)  # fmt: skip
        await queues.create(organisation_id=jj, code="aid", name="救助投诉", kinds=["complaint"],
                            categories=["humanitarian_aid"], first_response_minutes=30, resolution_minutes=300,
                            priority=1, now=T0)  # fmt: skip
        await queues.create(organisation_id=city, code="help", name="求助", kinds=["help"],
                            first_response_minutes=120, resolution_minutes=1200, now=T0)  # fmt: skip
    aid = await open_for(world)  # 锦江, humanitarian_aid complaint
    helping = await open_for(world, kind="help")  # no help queue in 锦江: the city's
    station = await open_for(world, "station")  # 春熙路 has no queue: 锦江's
    orgless = await open_for(world, "orgless")  # no organisation: the root's (a default made there)
    async with world.db.transaction() as s:
        codes = {}
        for name, ticket_id in (("aid", aid), ("help", helping), ("station", station), ("orgless", orgless)):
            t = await world.ticket(s, ticket_id)
            queue = await s.get(TicketQueue, t.queue_id)
            assert queue is not None
            codes[name] = (queue.organisation_id, queue.code, t.organisation_id, t.priority)
        assert codes == {
            "aid": (world.orgs["jinjiang"], "aid", world.orgs["jinjiang"], 1),
            "help": (world.orgs["chengdu"], "help", world.orgs["jinjiang"], 2),
            "station": (world.orgs["jinjiang"], "aid", world.orgs["chunxi"], 1),
            "orgless": (world.orgs["chengdu"], "default", world.orgs["chengdu"], 2),
        }
        # A flow's named queue wins among one organisation's matches.
        preferred = await QueueRepository(s).route(world.orgs["jinjiang"], "humanitarian_aid", "complaint",
                                                   prefer_code="complaints")  # fmt: skip
        assert preferred is not None and preferred.code == "complaints"


async def test_a_dedup_key_opens_one_ticket(world: World) -> None:
    first = await open_for(world, key="escalation:1:overall")
    async with world.db.transaction() as s:
        again = await tickets.open_ticket(
            s, respondent=await world.person(s, "jj"), kind="complaint", text="救助款还没收到", now=T0,
            dedup_key="escalation:1:overall",
        )  # fmt: skip
        assert again is None
        assert await s.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "opened")) == 1
    assert first


async def test_a_ticket_of_no_organisation_is_the_city_societys_to_handle(world: World) -> None:
    # Opened before any organisation existed (the routing gives it the city's otherwise).
    async with world.db.transaction() as s:
        ticket = await TicketRepository(s).create(
            organisation_id=None, queue_id=None, respondent_id=world.people["orgless"], session_id=None,
            question_id=None, category="humanitarian_aid", kind="complaint", text="没人管", context=None,
            status=tickets.NEW, priority=2, dedup_key=None, first_response_due_at=T0, resolution_due_at=T0, now=T0,
        )  # fmt: skip
        assert ticket is not None
        assert await tickets.covers(s, await world.user(s, "city_admin"), None)
        assert not await tickets.covers(s, await world.user(s, "jj_staff"), None)
        taken = await tickets.assign(
            s, ticket, to_user=await world.user(s, "city_admin"), by=await world.user(s, "city_admin"),
            expected_version=None, now=T0,
        )  # fmt: skip
        assert taken.assignee_id == world.staff["city_admin"]
        with pytest.raises(tickets.NotPermitted):
            await tickets.start(s, ticket, by=await world.user(s, "jj_staff"), expected_version=None, now=T0)
