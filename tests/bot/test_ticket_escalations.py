"""Tickets opened by the conversation itself, through the runtime: an answer the default
flow's `escalate` rule marks, the respondent's own words, and a request for a person."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from bot.channels.base import Inbound
from bot.channels.wechat.intents import HUMAN_KEY, interpret
from bot.cli import main
from bot.services import tickets
from bot.services.organisations import add_organisation
from bot.services.requests import HUMAN_ASKED, HUMAN_NOTE
from bot.services.runtime import Runtime
from bot.services.text_kinds import asks_for_a_person, classify_text
from storage.models import Answer, AuditEntry, Organisation, StaffUser, Ticket, TicketEvent
from tests.bot.conftest import T0, Chat

OVERALL_LABEL = "人道救助项目的总体评价"  # humanitarian_aid.yaml: overall's report_label


async def all_tickets(runtime: Runtime) -> list[Ticket]:
    async with runtime.db.transaction() as s:
        return list(await s.scalars(select(Ticket).order_by(Ticket.id)))


async def answer(runtime: Runtime, question_id: str) -> Answer:
    async with runtime.db.transaction() as s:
        found = await s.scalar(select(Answer).where(Answer.question_id == question_id))
        assert found is not None
        return found


async def test_a_flagged_option_opens_one_ticket_with_the_words_and_where_they_were_said(runtime: Runtime) -> None:
    chat = Chat(runtime, "unhappy")
    await chat.start("humanitarian_aid")
    await chat.say("好的")
    await chat.say("不好")  # overall: poor — the flow's escalate rule flags it
    (ticket,) = await all_tickets(runtime)
    # Its words name the question and the answer, not just what was typed ("4", "不好"): the
    # respondent is later asked whether "this problem" was solved.
    assert (ticket.kind, ticket.text, ticket.question_id, ticket.category) == (
        "complaint", f"{OVERALL_LABEL}：不好", "overall", "humanitarian_aid",
    )  # fmt: skip
    assert ticket.session_id is not None and ticket.status == "new"
    assert ticket.context == {
        "reason": "option:poor", "flow_queue": "humanitarian_aid", "flow_priority": "normal",
        "flow": "humanitarian_aid", "question": "您对红十字会的救助项目，总体评价怎么样？",
    }  # fmt: skip

    # Free text that reads as a complaint (this question has no escalate rule) in the same
    # survey joins that ticket: one case, handled and confirmed once.
    await chat.say("发放的大米有一袋是坏的")
    assert (await answer(runtime, "improve")).text_kind == "complaint"
    (same,) = await all_tickets(runtime)
    assert same.id == ticket.id and same.text == f"{OVERALL_LABEL}：不好；发放的大米有一袋是坏的"
    async with runtime.db.transaction() as s:
        query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "reply")
        replies = (await s.scalars(query)).all()
        assert [(e.text, e.data["question"]) for e in replies] == [("发放的大米有一袋是坏的", "improve")]
    await chat.say("5")  # main problem: none
    await chat.say("5")  # other services: nothing for now
    await chat.say("没有。")  # opinion: nothing to add → no ticket
    assert (await answer(runtime, "opinion")).text_kind == "none"
    assert len(await all_tickets(runtime)) == 1
    async with runtime.db.transaction() as s:
        skipped = await s.scalar(select(AuditEntry).where(AuditEntry.action == "escalation_not_opened"))
        assert skipped is not None and skipped.data is not None and skipped.data["text_kind"] == "none"


async def test_the_respondents_own_words_open_a_complaint_once_per_question(runtime: Runtime) -> None:
    chat = Chat(runtime, "writer")
    await chat.start("humanitarian_aid")
    await chat.say("好的")
    await chat.say("很好")
    await chat.say("5")
    await chat.say("5")
    words = "工作人员态度很差，电话一直打不通"
    await chat.say(words)
    (ticket,) = await all_tickets(runtime)
    assert (ticket.kind, ticket.text, ticket.question_id) == ("complaint", words, "opinion")
    assert ticket.context is not None and ticket.context["reason"] == "text"
    assert (await answer(runtime, "opinion")).text_kind == "complaint"
    async with runtime.db.transaction() as s:
        events = list(await s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)))
        assert (events[0].kind, events[0].text, events[0].actor) == ("opened", words, f"respondent:{ticket.respondent_id}")


async def test_answering_the_flagged_question_again_after_restart_opens_no_second_ticket(runtime: Runtime) -> None:
    chat = Chat(runtime, "twice")
    await chat.start("humanitarian_aid")
    await chat.say("好的")
    await chat.say("不好")
    await chat.say("重新开始")  # asks the first question again at once
    await chat.say("不好")
    assert (await answer(runtime, "overall")).raw_text == "不好\n不好"  # flagged twice…
    tickets_now = await all_tickets(runtime)
    assert len(tickets_now) == 1, [t.text for t in tickets_now]  # …one ticket


def test_classify_text_reads_with_the_detection_rules() -> None:
    for nothing in ("没有", "没有了", " 无 ", "都挺好", "挺好！", "没意见。", "No", "NONE", "ｎｏ", ""):
        assert classify_text(nothing) == ("none", False), nothing
    for words in ("没有收到救助款", "无人接电话", "态度不好", "nobody called me back"):
        assert classify_text(words) == ("complaint", True), words
    assert classify_text("请问下次培训什么时候？") == ("help", True)
    assert classify_text("建议多搞几次培训") == ("suggestion", False)
    assert asks_for_a_person("转人工") and asks_for_a_person("我要投诉！")
    assert not asks_for_a_person("工作人员态度很好") and not asks_for_a_person("人工呼吸学得很好")


async def test_asking_for_a_person_opens_one_human_ticket_at_a_time(runtime: Runtime) -> None:
    async with runtime.db.transaction() as s:
        city = await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        admin = StaffUser(username="admin", password_hash="x", role="admin", organisation_id=city.id,
                          created_at=T0, updated_at=T0)  # fmt: skip
        s.add(admin)
        await s.flush()
        admin_id = admin.id
    chat = Chat(runtime, "needs-help")
    await chat.start("humanitarian_aid")

    def human() -> Inbound:
        # The WeChat menu key 人工, as the channel hands it over.
        return interpret(chat.inbound("start", payload=HUMAN_KEY))

    first = await chat.send_inbound(human())
    assert [m.text for m in first.messages] == [HUMAN_NOTE["zh"]]
    await chat.send_inbound(human())  # asked again while it is open
    (ticket,) = await all_tickets(runtime)
    # No organisation of their own: the root organisation's (the city society's) ticket.
    assert (ticket.kind, ticket.text, ticket.organisation_id) == ("human", HUMAN_ASKED, city.id)
    assert ticket.session_id is not None
    async with runtime.db.transaction() as s:
        kinds = [e.kind for e in await s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))]
        assert kinds == ["opened", "reply"]
        staff = await s.get(StaffUser, admin_id)
        assert staff is not None
        t = await tickets.assign(s, ticket, to_user=staff, by=staff, expected_version=1, now=chat.at)
        t = await tickets.resolve(s, t, resolution="已回电", by=staff, expected_version=2, now=chat.at)
        await tickets.confirm(s, t, by=staff, expected_version=3, now=chat.at)
    await chat.send_inbound(human())  # closed: a new request is a new ticket
    assert [(t.kind, t.status) for t in await all_tickets(runtime)] == [("human", "confirmed"), ("human", "new")]


def test_queues_add_and_list_on_the_command_line(tmp_path: Path) -> None:
    env = {"HUIFANG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/queues.db"}
    run = CliRunner().invoke
    assert run(main, ["orgs", "add", "chengdu", "成都市红十字会"], env=env).exit_code == 0
    assert run(main, ["orgs", "add", "jinjiang", "锦江区红十字会", "--parent", "chengdu"], env=env).exit_code == 0
    added = run(main, ["queues", "add", "jinjiang", "complaints", "投诉处理", "--first-response", "120",
                       "--resolution", "1440", "--kinds", "complaint", "--categories", "donation,humanitarian_aid",
                       "--priority", "1"], env=env)  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "已添加 added jinjiang/complaints" in added.output
    refused = run(main, ["queues", "add", "jinjiang", "x", "X", "--first-response", "60", "--resolution", "30"], env=env)
    assert refused.exit_code == 1 and "first response cannot be due after the resolution" in refused.output
    bad_kind = run(main, ["queues", "add", "chengdu", "y", "Y", "--first-response", "1", "--resolution", "2",
                          "--kinds", "praise"], env=env)  # fmt: skip
    assert bad_kind.exit_code == 1 and "unknown ticket kinds: praise" in bad_kind.output
    assert run(main, ["queues", "add", "chengdu", "all", "全部", "--first-response", "240", "--resolution", "2880"],
               env=env).exit_code == 0  # fmt: skip
    listed = run(main, ["queues", "list"], env=env)
    assert listed.output.splitlines()[1:] == [
        "chengdu  all  全部  *  *  P2  240 / 2880",
        "jinjiang  complaints  投诉处理  donation,humanitarian_aid  complaint  P1  120 / 1440",
    ]
    only = run(main, ["queues", "list", "--org", "jinjiang"], env=env)
    assert only.output.splitlines()[1:] == ["jinjiang  complaints  投诉处理  donation,humanitarian_aid  complaint  P1  120 / 1440"]


async def test_typing_for_a_person_mid_survey_opens_a_ticket_and_the_survey_waits(runtime: Runtime) -> None:
    chat = Chat(runtime, "types-for-help")
    await chat.start("humanitarian_aid")
    await chat.say("好的")
    reply = await chat.say("转人工")  # at the first question, instead of an answer
    assert reply.messages[0].text == HUMAN_NOTE["zh"]
    assert "总体评价" in reply.messages[-1].text  # the question, asked again
    (ticket,) = await all_tickets(runtime)
    assert (ticket.kind, ticket.text) == ("human", "转人工")
    await chat.say("我要投诉！")  # asked again while it is open: no second ticket
    assert len(await all_tickets(runtime)) == 1
    await chat.say("很好")  # the survey goes on from where it waited
    assert (await answer(runtime, "overall")).value == "very_good"
    # Words that merely mention staff are an answer, not a request for a person.
    assert not asks_for_a_person("工作人员态度很好，谢谢你们")


async def test_an_organisations_own_phrases_read_its_respondents_words(runtime: Runtime, tmp_path: Path) -> None:
    async with runtime.db.transaction() as s:
        city = await add_organisation(s, code="chengdu", name="成都市红十字会", now=T0)
        await add_organisation(s, code="jinjiang", name="锦江区红十字会", parent="chengdu", now=T0)
        await add_organisation(s, code="wuhou", name="武侯区红十字会", parent="chengdu", now=T0)
    assert city.id
    rules = tmp_path / "jinjiang.yaml"
    rules.write_text("complaint:\n  - 一锅粥\n", encoding="utf-8")
    env = {"HUIFANG_DATABASE_URL": str(runtime.db.url.render_as_string(hide_password=False)), "HUIFANG_AUTO_MIGRATE": "false"}
    # In a thread: the command runs its own event loop, as it does from a shell.
    saved = await asyncio.to_thread(CliRunner().invoke, main, ["tickets", "rules", "set", "--org", "jinjiang", str(rules)], env=env)
    assert saved.exit_code == 0, saved.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("complaint:\n  - 一锅粥\nsomething: [x]\n", encoding="utf-8")
    refused = await asyncio.to_thread(CliRunner().invoke, main, ["tickets", "rules", "set", "--org", "wuhou", str(broken)], env=env)
    assert refused.exit_code == 1 and "broken.yaml:3" in refused.output and "nothing saved" in refused.output

    async def words_of(person: str, org: str) -> list[Ticket]:
        async with runtime.db.transaction() as s:
            org_id = (await s.scalar(select(Organisation).where(Organisation.code == org))).id  # type: ignore[union-attr]
        chat = Chat(runtime, person)
        chat.organisation_id = org_id
        for text in (None, "好的", "很好", "5", "5"):
            await (chat.start("humanitarian_aid") if text is None else chat.say(text))
        await chat.say("现场乱成一锅粥")  # the last, open question
        return [t for t in await all_tickets(runtime) if t.text == "现场乱成一锅粥"]

    assert len(await words_of("o-jinjiang", "jinjiang")) == 1  # its admin's phrase
    assert len(await words_of("o-wuhou", "wuhou")) == 1  # still the one ticket: 武侯 has no such phrase
