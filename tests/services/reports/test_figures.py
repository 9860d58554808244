"""build_report on the fixed data set (conftest.py): every figure against a count made by
hand from the table in conftest's docstring, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.services.reports import ReportError, build_report
from storage.repositories.organisations import Scope
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from tests.services.reports.conftest import T0, ReportWorld, _version


async def report(world: ReportWorld, scope: Scope | None = None, **filters: Any) -> dict[str, Any]:
    async with world.db.transaction() as s:
        return await build_report(s, scope=scope or Scope.everything(), **filters)


def flow(data: dict[str, Any], code: str) -> dict[str, Any]:
    [found] = [f for f in data["flows"] if f["code"] == code]
    return found


def question(data: dict[str, Any], code: str, qid: str) -> dict[str, Any]:
    [found] = [q for q in flow(data, code)["questions"] if q["id"] == qid]
    return found


def counts(q: dict[str, Any]) -> dict[str, int]:
    return {o["code"]: o["count"] for o in q["options"]}


def shares(q: dict[str, Any]) -> dict[str, float]:
    return {o["code"]: o["share"] for o in q["options"]}


async def test_every_figure_of_the_whole_data_set(world: ReportWorld) -> None:
    data = await report(world)
    assert [f["code"] for f in data["flows"]] == ["aid", "donor"]
    aid = flow(data, "aid")
    assert aid["versions"] == [1, 2]
    assert aid["category_label"] == "人道救助"
    funnel = {k: aid[k] for k in ("invited", "reached", "started", "completed", "declined", "opted_out")}
    # invited p1 p3 p10 p11 (p12 never invited, p13 queued, p7 a test); reached p1 p3 p11;
    # started S1 S2 S3 S4 S8; completed S1 S2 S3 S8; declined p11 + S5; opted out p12 + S6.
    assert funnel == {"invited": 4, "reached": 3, "started": 5, "completed": 4, "declined": 2, "opted_out": 2}
    assert data["totals"] | {"tickets": None} == {
        "invited": 4, "reached": 3, "started": 6, "completed": 5, "declined": 2, "opted_out": 2, "opinions": 2,
        "tickets": None,
    }  # fmt: skip
    # T1 resolved+confirmed, T2 passed up, T3 resolved+reopened; T4 is the test respondent's.
    assert data["totals"]["tickets"] == {"opened": 3, "resolved": 2, "confirmed": 1, "reopened": 1, "passed_up": 1}
    assert aid["tickets"] == data["totals"]["tickets"]
    assert flow(data, "donor")["tickets"]["opened"] == 0


async def test_surveys_of_test_respondents_count_nowhere_but_are_said_to_be_left_out(world: ReportWorld) -> None:
    assert (await report(world))["test_sessions_left_out"] == 1  # S7, p7's
    assert (await report(world, org="jinjiang"))["test_sessions_left_out"] == 1
    assert (await report(world, org="wuhou"))["test_sessions_left_out"] == 0
    assert (await report(world, flow_id="donor"))["test_sessions_left_out"] == 0
    wuhou = Scope(f"/{world.orgs['chengdu']}/{world.orgs['wuhou']}/")
    assert (await report(world, scope=wuhou))["test_sessions_left_out"] == 0


async def test_questions_follow_the_newest_version_then_the_older_ones(world: ReportWorld) -> None:
    aid = flow(await report(world), "aid")
    assert [q["id"] for q in aid["questions"]] == ["overall", "services", "age", "recommend", "opinion", "visited"]
    types = {q["id"]: q["type"] for q in aid["questions"]}
    assert types == {"overall": "rating", "services": "multi", "age": "number", "recommend": "nps",
                     "opinion": "text", "visited": "single"}  # fmt: skip


async def test_a_rating_across_two_versions_with_its_declared_groups(world: ReportWorld) -> None:
    overall = question(await report(world), "aid", "overall")
    # S1 (v1) very_good, S2 (v1) good, S4 (v2) good, S3 poor, S8 average: codes match across versions.
    assert (overall["answered"], overall["skipped"], overall["unreadable"]) == (5, 0, 0)
    assert counts(overall) == {"very_good": 1, "good": 2, "average": 1, "poor": 1}
    assert shares(overall) == {"very_good": 0.2, "good": 0.4, "average": 0.2, "poor": 0.2}
    good = next(o for o in overall["options"] if o["code"] == "good")
    assert good["label"] == "比较好"  # the newest version's words
    assert [(g["label"], g["count"], g["share"]) for g in overall["groups"]] == [
        ("好或非常好", 3, 0.6),
        ("一般或不好", 2, 0.4),
    ]
    assert overall["label"] == "人道救助项目的总体评价"


async def test_multiple_choice_shares_are_of_respondents_and_add_past_one(world: ReportWorld) -> None:
    services = question(await report(world), "aid", "services")
    # S1 [a,b], S2 [a], S3 [a,b,c]; S8 skipped; S7 (test) picked d.
    assert (services["answered"], services["skipped"]) == (3, 1)
    assert counts(services) == {"a": 3, "b": 2, "c": 1, "d": 0}  # d: only in v1, nobody counted picked it
    assert shares(services) == {"a": 1.0, "b": 0.6667, "c": 0.3333, "d": 0.0}
    assert sum(shares(services).values()) > 1
    assert "groups" not in services


async def test_numbers_skipped_and_unreadable(world: ReportWorld) -> None:
    age = question(await report(world), "aid", "age")
    assert (age["answered"], age["skipped"], age["unreadable"]) == (2, 1, 1)
    assert age["numbers"] == {
        "count": 2, "mean": 75.0, "median": 75, "min": 70, "max": 80,
        "distribution": [{"value": 70, "count": 1}, {"value": 80, "count": 1}],
    }  # fmt: skip


async def test_nps(world: ReportWorld) -> None:
    recommend = question(await report(world), "aid", "recommend")
    assert recommend["nps"] == {"score": 0.0, "promoters": 1, "passives": 0, "detractors": 1}
    june = question(await report(world, until=date(2026, 6, 30)), "aid", "recommend")
    assert june["nps"] == {"score": 100.0, "promoters": 1, "passives": 0, "detractors": 0}


async def test_texts_with_their_kind_and_ticket(world: ReportWorld) -> None:
    opinion = question(await report(world), "aid", "opinion")
    assert (opinion["answered"], opinion["skipped"]) == (3, 1)
    # "没有，挺好的" is an answer but no opinion: the report gathers two opinions, not three.
    assert opinion["opinions"] == 2
    got = sorted((t["text"], t["kind"], t["ticket_id"], t["answer_id"]) for t in opinion["texts"])
    assert got == sorted([
        ("救助金发放太慢了", "complaint", world.tickets["T1"], world.answers["S1.opinion"]),
        ("希望多来看看我们", "help", world.tickets["T2"], world.answers["S3.opinion"]),
        ("没有，挺好的", "none", None, world.answers["S8.opinion"]),
    ])  # fmt: skip
    assert all("测试" not in t["text"] for t in opinion["texts"])


async def test_a_yes_no_question_of_the_old_version_only(world: ReportWorld) -> None:
    visited = question(await report(world), "aid", "visited")
    assert [(o["code"], o["label"], o["count"], o["share"]) for o in visited["options"]] == [
        ("yes", "是", 1, 0.5),
        ("no", "否", 1, 0.5),
    ]


async def test_a_date_range_counts_the_sessions_started_in_it(world: ReportWorld) -> None:
    data = await report(world, since=date(2026, 6, 1), until=date(2026, 6, 30))
    aid = flow(data, "aid")
    assert (aid["started"], aid["completed"]) == (4, 3)  # S8 started on 10 July
    assert counts(question(data, "aid", "overall")) == {"very_good": 1, "good": 2, "average": 0, "poor": 1}
    assert data["filters"]["since"] == "2026-06-01" and data["filters"]["until"] == "2026-06-30"
    # The last day is included: S3 started on 5 June (UTC 10:00, 18:00 in Shanghai).
    only_5th = flow(await report(world, since=date(2026, 6, 5), until=date(2026, 6, 5)), "aid")
    assert (only_5th["started"], only_5th["completed"]) == (1, 1)
    nothing = await report(world, since=date(2026, 8, 1))
    assert nothing["flows"] == [] and nothing["totals"]["started"] == 0


async def test_an_organisation_filter_takes_its_whole_subtree(world: ReportWorld) -> None:
    data = await report(world, org="jinjiang")
    aid = flow(data, "aid")
    # S1 (jinjiang), S2 (chunxi, under jinjiang), S8; S5 declined, S6 opted out.
    assert (aid["started"], aid["completed"], aid["declined"], aid["opted_out"]) == (3, 3, 1, 2)
    assert (aid["invited"], aid["reached"]) == (2, 1)  # p1, p10; p1
    assert counts(question(data, "aid", "overall")) == {"very_good": 1, "good": 1, "average": 1, "poor": 0}
    station = flow(await report(world, org="chunxi"), "aid")
    assert (station["started"], station["opted_out"]) == (1, 1)  # S2; p12


async def test_a_districts_scope_sees_only_its_people(world: ReportWorld) -> None:
    wuhou = Scope(f"/{world.orgs['chengdu']}/{world.orgs['wuhou']}/")
    data = await report(world, scope=wuhou)
    aid = flow(data, "aid")
    assert (aid["started"], aid["completed"], aid["invited"]) == (2, 1, 2)  # S3 S4; p3 p11
    assert [f["code"] for f in data["flows"]] == ["aid"]  # the donor is jinjiang's
    with pytest.raises(ReportError, match="unknown organisation: jinjiang"):
        await report(world, scope=wuhou, org="jinjiang")


async def test_people_of_no_organisation_count_for_the_city_society(world: ReportWorld) -> None:
    # Interviewed without an organisation (`huifang chat --interview`): the city society's
    # report counts them, as it gets their tickets; a district's does not.
    city = Scope(f"/{world.orgs['chengdu']}/")
    wuhou = Scope(f"/{world.orgs['chengdu']}/{world.orgs['wuhou']}/")
    before = flow(await report(world, scope=city), "aid")
    async with world.db.transaction() as s:
        person = await RespondentRepository(s).create(category="aid", name="电话访谈", at=T0)
        await SessionRepository(s).create(
            respondent_id=person.id, flow_version_id=await _version(s, "aid", 2), state={}, status="completed",
            now=datetime(2026, 6, 20, 10, 0, tzinfo=UTC),
        )  # fmt: skip
    after = flow(await report(world, scope=city), "aid")
    assert (after["started"], after["completed"]) == (before["started"] + 1, before["completed"] + 1)
    assert flow(await report(world, scope=wuhou), "aid")["started"] == 2  # S3 S4, as before


async def test_a_campaign_and_a_flow_and_a_category(world: ReportWorld) -> None:
    data = await report(world, campaign_id=world.campaign)
    assert [f["code"] for f in data["flows"]] == ["aid"]
    aid = flow(data, "aid")
    assert (aid["started"], aid["completed"], aid["invited"], aid["declined"]) == (2, 2, 4, 1)
    assert (await report(world, flow_id="donor"))["flows"][0]["started"] == 1
    assert (await report(world, flow_id=world.flows["donor"]))["filters"]["flow_id"] == world.flows["donor"]
    assert [f["code"] for f in (await report(world, category="aid"))["flows"]] == ["aid"]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"org": "nowhere"}, "未知的机构 unknown organisation: nowhere"),
        ({"flow_id": "nope"}, "未知的流程 unknown flow: nope"),
        ({"category": "pets"}, "未知的类别 unknown category: pets"),
        ({"campaign_id": 999}, "未知的活动 unknown campaign: 999"),
        ({"since": date(2026, 7, 1), "until": date(2026, 6, 1)}, "起始日期晚于结束日期"),
        ({"crosstab_by": "colour", "question": "overall"}, "cannot cross-tab by 'colour'"),
        ({"crosstab_by": "tag"}, "needs both by and question"),
        ({"crosstab_by": "tag", "question": "nothing"}, "no flow in this report asks question 'nothing'"),
    ],
)
async def test_bad_filters_are_refused_in_both_languages(
    world: ReportWorld, filters: dict[str, Any], message: str
) -> None:
    with pytest.raises(ReportError, match=message):
        await report(world, **filters)


def rows(data: dict[str, Any]) -> dict[str | None, tuple[dict[str, int], int]]:
    return {r["key"]: (r["counts"], r["answered"]) for r in data["crosstab"]["rows"]}


async def test_crosstab_by_category(world: ReportWorld) -> None:
    data = await report(world, crosstab_by="category", question="overall")
    assert rows(data) == {
        "aid": ({"very_good": 1, "good": 2, "average": 1, "poor": 1}, 5),
        "donor": ({"very_good": 1}, 1),
    }
    assert [r["label"] for r in data["crosstab"]["rows"]] == ["人道救助", "公益捐赠"]


async def test_crosstab_by_organisation_tag_and_channel(world: ReportWorld) -> None:
    by_org = await report(world, flow_id="aid", crosstab_by="organisation", question="overall")
    assert rows(by_org) == {
        "jinjiang": ({"very_good": 1, "average": 1}, 2), "chunxi": ({"good": 1}, 1),
        "wuhou": ({"poor": 1, "good": 1}, 2),
    }  # fmt: skip
    by_tag = await report(world, flow_id="aid", crosstab_by="tag", question="services")
    # p1 [低保] a b; p2 [低保, 独居] a; p3 (no tag) a b c. A person counts under each tag.
    assert rows(by_tag) == {
        "低保": ({"a": 2, "b": 1}, 2), "独居": ({"a": 1}, 1), None: ({"a": 1, "b": 1, "c": 1}, 1),
    }  # fmt: skip
    assert by_tag["crosstab"]["rows"][-1]["label"] == "（无标签）"
    by_channel = await report(world, flow_id="aid", crosstab_by="channel", question="overall")
    assert rows(by_channel) == {
        "phone": ({"good": 1}, 1), "telegram": ({"poor": 1}, 1), "wechat": ({"very_good": 1, "good": 1}, 2),
        None: ({"average": 1}, 1),
    }  # fmt: skip
