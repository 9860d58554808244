"""Ticket figures on a small set worked out by hand.

锦江 (district): A answered in 10 min, resolved at 60 min, confirmed; B answered by message
at 30 min, resolved at 120, reopened by the respondent, resolved again at 200, then closed
unconfirmed; C never touched, escalated at 241 min to the city's queue.
武侯: D answered at 20 min, resolved at 90, waiting for the respondent.
"""

from __future__ import annotations

from datetime import timedelta

from bot.services import tickets
from bot.services.ticket_figures import ticket_figures
from storage.repositories.organisations import OrganisationRepository, Scope
from tests.services.tickets.conftest import T0, World
from tests.services.tickets.test_tickets import open_for

MIN = timedelta(minutes=1)


async def hand_set(w: World) -> None:
    a, b, c = await open_for(w), await open_for(w), await open_for(w)
    d = await open_for(w, "wh")
    async with w.db.transaction() as s:
        jj, wh = await w.user(s, "jj_staff"), await w.user(s, "wh_staff")
        me = f"respondent:{w.people['jj']}"
        t = await tickets.assign(s, await w.ticket(s, a), to_user=jj, by=jj, expected_version=1, now=T0 + 10 * MIN)
        t = await tickets.resolve(s, t, resolution="ok", by=jj, expected_version=2, now=T0 + 60 * MIN)
        await tickets.confirm(s, t, by=me, expected_version=3, now=T0 + 70 * MIN)

        t = await w.ticket(s, b)
        await tickets.send_message(s, t, text="您好", by=jj, now=T0 + 30 * MIN)
        t = await tickets.assign(s, t, to_user=jj, by=jj, expected_version=1, now=T0 + 40 * MIN)
        t = await tickets.resolve(s, t, resolution="ok", by=jj, expected_version=2, now=T0 + 120 * MIN)
        t = await tickets.reopen(s, t, by=me, expected_version=3, now=T0 + 130 * MIN)
        t = await tickets.assign(s, t, to_user=jj, by=jj, expected_version=4, now=T0 + 140 * MIN)
        t = await tickets.resolve(s, t, resolution="ok", by=jj, expected_version=5, now=T0 + 200 * MIN)
        await tickets.leave_unconfirmed(s, t, by="system", expected_version=None, now=T0 + 300 * MIN)

        assert await tickets.escalate_for_sla(s, await w.ticket(s, c), now=T0 + 241 * MIN)

        t = await tickets.assign(s, await w.ticket(s, d), to_user=wh, by=wh, expected_version=1, now=T0 + 20 * MIN)
        await tickets.resolve(s, t, resolution="ok", by=wh, expected_version=2, now=T0 + 90 * MIN)


async def test_figures_per_queue_and_organisation(world: World) -> None:
    await hand_set(world)
    async with world.db.transaction() as s:
        orgs = OrganisationRepository(s)
        city, wuhou = await orgs.by_code("chengdu"), await orgs.by_code("wuhou")
        assert city is not None and wuhou is not None
        figures = await ticket_figures(s, Scope.of(city))
        only_wuhou = await ticket_figures(s, Scope.of(wuhou))
        later = await ticket_figures(s, Scope.of(city), since=T0 + MIN)

    by_org = {f.code: f for f in figures.by_organisation}
    jj, wh = by_org["jinjiang"], by_org["wuhou"]
    assert (jj.tickets, jj.open, jj.sla_breaches) == (3, 1, 1)
    assert jj.median_first_response == 20 * MIN  # 10 and 30
    assert jj.median_resolution == 130 * MIN  # 60 and 200 (B's latest resolution)
    assert jj.reopen_rate == 0.5  # B of A, B
    assert jj.confirmation_rate == 1 / 3  # A confirmed; B reopened once, then unconfirmed
    assert (wh.tickets, wh.open, wh.median_first_response, wh.median_resolution) == (1, 0, 20 * MIN, 90 * MIN)
    assert (wh.reopen_rate, wh.confirmation_rate, wh.sla_breaches) == (0.0, None, 0)

    by_queue = {(f.key, f.code): f for f in figures.by_queue}
    assert sorted((code, f.tickets, f.open, f.sla_breaches) for (_, code), f in by_queue.items()) == [
        ("default", 1, 0, 0),  # 武侯's
        ("default", 1, 1, 1),  # the city's: C, escalated there
        ("default", 2, 0, 0),  # 锦江's: A and B
    ]

    assert [f.code for f in only_wuhou.by_organisation] == ["wuhou"]
    assert later.by_organisation == []  # all were opened at T0
