"""The runtime end to end on SQLite and PostgreSQL: surveys completed, answers stored once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services.flows import publish_files
from bot.services.runtime import Runtime
from flows.loader import default_flow_paths, load_path
from storage.models import Answer, InboundMessage, Respondent, SurveySession, Ticket, TicketEvent
from storage.repositories.answers import AnswerRepository
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository
from tests.bot.conftest import Chat


async def _person(runtime: Runtime, chat: Chat) -> Respondent | None:
    async with runtime.db.transaction() as s:
        return await RespondentRepository(s).by_identity(chat.channel, chat.account, chat.external_id)


async def _sessions(runtime: Runtime, chat: Chat) -> list[SurveySession]:
    person = await _person(runtime, chat)
    assert person is not None
    async with runtime.db.transaction() as s:
        return await SessionRepository(s).list_for_respondent(person.id)


async def _answers(runtime: Runtime, chat: Chat) -> dict[str, Answer]:
    (latest, *_) = await _sessions(runtime, chat)
    async with runtime.db.transaction() as s:
        return {a.question_id: a for a in await AnswerRepository(s).for_session(latest.id)}


async def _count(runtime: Runtime, model: type) -> int:
    async with runtime.db.transaction() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


async def test_aid_recipient_finishes_in_chinese_variants_and_answers_are_stored(runtime: Runtime) -> None:
    chat = Chat(runtime, "old-aunt")
    first = await chat.say("你好")
    assert "属于以下哪一类" in first.text  # an unknown person is asked for their group
    assert await _person(runtime, chat) is None  # …and nothing about them is stored yet

    await chat.say("人道救助")
    await chat.say("好的")  # consent
    await chat.say("１")  # full-width digit → 非常好
    miss = await chat.say("一、三")  # two options for a single-choice question
    assert "只能选一项" in miss.text
    await chat.say("①")  # circled digit
    await chat.say("1、3")  # multiple choice with 、
    done = await chat.say("希望多来看看我们 ]]> 谢谢")
    assert "感谢" in done.text

    answers = await _answers(runtime, chat)
    assert answers["overall"].value == "very_good"
    assert answers["main_problem"].value == "standard_too_low"
    assert answers["main_problem"].raw_text == "一、三\n①"  # the miss is kept, not lost
    assert answers["other_services"].value == ["counselling", "care_companionship"]
    assert answers["opinion"].value == "希望多来看看我们 ]]> 谢谢"
    (session,) = await _sessions(runtime, chat)
    assert session.status == "completed"
    person = await _person(runtime, chat)
    assert person is not None and person.category == "humanitarian_aid" and person.consent_at is not None


def _first_answer(text: str) -> str:
    """A respondent who always picks the first option, and says something where asked."""
    return "1" if "1." in text or "数字" in text else "谢谢你们"


@pytest.mark.parametrize("path", default_flow_paths(), ids=lambda p: p.stem)
async def test_every_default_flow_completes_through_the_runtime(runtime: Runtime, path) -> None:
    flow, _, _ = load_path(path)
    chat = Chat(runtime, f"walker-{flow.id}")
    reply = await chat.start(flow.category.name.zh)
    reply = await chat.say("好的")
    for _ in range(20):
        if (await _sessions(runtime, chat))[0].status == "completed":
            break
        reply = await chat.say(_first_answer(reply.messages[-1].text))
    (session,) = await _sessions(runtime, chat)
    assert session.status == "completed"
    answers = await _answers(runtime, chat)
    asked = [qid for qid in session.state["answers"]]
    assert sorted(answers) == sorted(asked) and len(answers) >= 3
    assert all(a.parsed for a in answers.values())


async def test_a_redelivered_message_gets_the_same_reply_and_records_nothing(runtime: Runtime) -> None:
    chat = Chat(runtime, "twice")
    await chat.start("donation")
    await chat.say("是的")
    first = await chat.say("1", key="dup-1")
    inbound_before = await _count(runtime, InboundMessage)
    again = await chat.say("1", key="dup-1")
    assert again.duplicate and again.messages == first.messages
    assert await _count(runtime, InboundMessage) == inbound_before
    answers = await _answers(runtime, chat)
    assert answers["satisfaction"].raw_text == "1"  # recorded once, raw not doubled


async def test_opt_out_needs_confirmation_and_then_silence(runtime: Runtime) -> None:
    chat = Chat(runtime, "leaver")
    await chat.start("volunteer")
    ask = await chat.say("退订")
    assert "确定要退订" in ask.text
    kept = await chat.say("2")  # changed their mind
    assert "继续" in kept.text
    await chat.say("退订")
    bye = await chat.say("确定")
    assert "已为您退订" in bye.text
    person = await _person(runtime, chat)
    assert person is not None and person.opted_out_at is not None
    assert (await _sessions(runtime, chat))[0].status == "opted_out"
    later = await chat.say("你好，还在吗")
    assert later.messages == ()  # nothing is ever sent to an opted-out respondent


async def test_a_returning_respondent_is_asked_whether_to_continue(runtime: Runtime) -> None:
    chat = Chat(runtime, "returner")
    await chat.start("membership")
    await chat.say("好")
    await chat.say("2")
    chat.at += timedelta(hours=80)  # past the 72 h default
    back = await chat.say("你好")
    assert "欢迎回来" in back.text
    cont = await chat.say("1")
    answers_before = await _answers(runtime, chat)
    assert len(answers_before) == 1  # "你好" and "1" were not taken as answers
    assert cont.messages[-1].choices  # the same question is asked again
    chat.at += timedelta(days=31)  # past expiry
    fresh = await chat.say("你好")
    assert "已经过期" in fresh.text and "愿意" in fresh.text  # a new invitation follows
    statuses = [s.status for s in await _sessions(runtime, chat)]
    assert statuses == ["invited", "expired"]


async def test_sessions_stay_on_the_flow_version_they_started_with(runtime: Runtime, tmp_path) -> None:
    old = Chat(runtime, "old-version")
    await old.start("grassroots")
    await old.say("好的")
    source = next(p for p in default_flow_paths() if p.stem == "grassroots").read_text(encoding="utf-8")
    changed = tmp_path / "grassroots.yaml"
    changed.write_text(source.replace("您好！", "您好呀！", 1), encoding="utf-8")
    (published,) = await publish_files(runtime.db, [changed])
    assert published.created and published.version == 2
    (again,) = await publish_files(runtime.db, [changed])
    assert not again.created  # unchanged content stores nothing new

    new = Chat(runtime, "new-version")
    greeting = await new.start("grassroots")
    assert "您好呀！" in greeting.text
    await old.say("1")
    (old_session,) = await _sessions(runtime, old)
    (new_session,) = await _sessions(runtime, new)
    assert old_session.flow_version_id != new_session.flow_version_id
    assert "overall" in old_session.state["answers"] or len(old_session.state["answers"]) == 1


async def test_escalation_worthy_answers_are_recorded(runtime: Runtime) -> None:
    chat = Chat(runtime, "unhappy")
    await chat.start("humanitarian_aid")
    await chat.say("好的")
    await chat.say("不好")
    async with runtime.db.transaction() as s:
        rows = (await s.execute(select(Ticket))).scalars().all()
    assert len(rows) == 1 and rows[0].context is not None and rows[0].context["reason"] == "option:poor"


async def test_three_unreadable_replies_keep_the_raw_text_and_move_on(runtime: Runtime) -> None:
    chat = Chat(runtime, "mumbler")
    await chat.start("first_aid_post")
    await chat.say("好的")
    for text in ["嗯…这个嘛", "看情况", "哈哈哈"]:
        reply = await chat.say(text)
    assert "下一题" in reply.text
    answers = await _answers(runtime, chat)
    (unparsed,) = [a for a in answers.values() if not a.parsed]
    assert unparsed.value is None and unparsed.raw_text == "嗯…这个嘛\n看情况\n哈哈哈"


async def test_two_messages_at_once_answer_one_question_each(pg_url: str) -> None:
    from bot.services.flows import prepare
    from storage.db import Database

    db = Database(pg_url)
    try:
        await prepare(db, migrate=False, publish_defaults=True)
        runtime = Runtime(db)
        chat = Chat(runtime, "double-tap")
        await chat.start("humanitarian_aid")
        await chat.say("好的")
        # Two quick taps: without the per-respondent lock both would answer "overall".
        await asyncio.gather(chat.say("1"), chat.say("2"))
        answers = await _answers(runtime, chat)
        assert set(answers) == {"overall", "main_problem"}
        assert await _count(runtime, Answer) == 2
    finally:
        await db.dispose()


async def test_leaving_closes_the_survey_and_coming_back_makes_them_reachable(runtime: Runtime) -> None:
    chat = Chat(runtime, "comes-back", channel="wechat", account="sc")
    await chat.start("volunteer")
    await chat.say("好的")
    gone = await chat.send_inbound(chat.inbound("unreachable"))
    assert gone.messages == ()
    person = await _person(runtime, chat)
    assert person is not None and person.unreachable_at is not None
    assert (await _sessions(runtime, chat))[0].status == "expired"
    back = await chat.send_inbound(chat.inbound("start", payload="volunteer"))
    person = await _person(runtime, chat)
    assert person is not None and person.unreachable_at is None
    assert "愿意" in back.text  # a fresh invitation to the same survey


async def test_console_and_simulator_respondents_are_marked_as_tests(runtime: Runtime) -> None:
    for channel, is_test in (("console", True), ("simulator", True), ("telegram", False), ("wechat", False)):
        chat = Chat(runtime, f"{channel}-person", channel=channel)
        await chat.start("人道救助")
        person = await _person(runtime, chat)
        assert person is not None and person.is_test is is_test, channel


async def _finish_aid_survey(chat: Chat) -> None:
    await chat.start("humanitarian_aid")
    for answer in ("好的", "1", "5", "5"):
        await chat.say(answer)
    done = await chat.say("没有")
    assert "问卷完成了" in done.text


async def test_words_left_after_the_survey_reach_staff_as_a_ticket(runtime: Runtime) -> None:
    # The closing says "如有其他问题，请直接留言": what they leave must not be lost.
    chat = Chat(runtime, "after")
    await _finish_aid_survey(chat)
    assert await _count(runtime, Ticket) == 0
    for nothing in ("谢谢你们", "收到", "辛苦了，祝你们工作顺利", "[玫瑰][玫瑰]", "好的", "你好"):
        said = await chat.say(nothing)  # nothing for staff: no ticket
        assert "本次回访已经结束" in said.text and await _count(runtime, Ticket) == 0
    noted = await chat.say("我的救助金三个月没到账了，找谁都没人管")
    assert "已收到您的留言" in noted.text
    again = await chat.say("能不能帮我问问")  # joins the open ticket, not a second one
    assert "已收到您的留言" in again.text
    async with runtime.db.transaction() as s:
        [ticket] = list(await s.scalars(select(Ticket)))
        assert ticket.kind == "complaint" and ticket.text == "我的救助金三个月没到账了，找谁都没人管"
        assert ticket.first_response_due_at is not None  # its clock runs as for any complaint
        events = list(await s.scalars(select(TicketEvent.text).where(TicketEvent.ticket_id == ticket.id)))
        assert "能不能帮我问问" in events
    person = await _person(runtime, chat)
    assert person is not None and person.opted_out_at is None


async def test_stop_with_no_survey_open_opts_out_at_once(runtime: Runtime) -> None:
    chat = Chat(runtime, "done-then-stop")
    await _finish_aid_survey(chat)
    bye = await chat.say("我要退订")
    assert "已为您退订" in bye.text
    person = await _person(runtime, chat)
    assert person is not None and person.opted_out_at is not None
    assert (await chat.say("你好")).messages == ()  # silence from now on
    # Someone imported from a list, never surveyed, who writes 退订 first: not a survey.
    async with runtime.db.transaction() as s:
        listed = await RespondentRepository(s).create(category="humanitarian_aid", name="陈阿姨")
        await RespondentRepository(s).add_identity(listed, channel="console", account="local", external_id="listed")
    first = await Chat(runtime, "listed").say("退订")
    assert "已为您退订" in first.text
    async with runtime.db.transaction() as s:
        again = await RespondentRepository(s).get(listed.id)
        assert again is not None and again.opted_out_at is not None
        assert await SessionRepository(s).latest_for(listed.id) is None
