"""Staff digests on both databases, sent through the real channels to the fake WeCom API and
an SMTP server on 127.0.0.1: one message per person listing their notices, nothing twice,
failures retried then given up, people who want nothing marked without sending, and two
runs at once on PostgreSQL sending each notice once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.notify import StaffNotifier
from bot.services.staff_notices import DigestStats, add_notice, excerpt, render, send_digests
from storage.db import Database
from storage.models import StaffNotice
from tests.fakes.wecom_api import SEND_PATH, FakeWeComApi
from tests.services.staff_notices.conftest import T0, Office, SmtpServer, wecom_channel

URL = "https://huifang.example.org/"
LONG = "老人说上个月申请的药品补助到现在还没有收到，家里已经没有药了，希望红十字会尽快联系社区帮忙解决这个问题"


def notice(id_: int, kind: str, text: str = "药品还没有收到", ticket_id: int | None = None) -> StaffNotice:
    return StaffNotice(id=id_, user_id=1, ticket_id=ticket_id if ticket_id is not None else 100 + id_, kind=kind, text=text)


async def digest(db: Database, notifier: StaffNotifier, *, at=T0, **options) -> DigestStats:
    async with db.transaction() as s:
        return await send_digests(s, notifier, now=at, public_url=options.pop("public_url", URL), **options)


# --- the message ---------------------------------------------------------------------------


def test_the_digest_counts_the_kinds_chinese_first_and_lists_each_ticket_with_its_link() -> None:
    notices = [notice(1, "new"), notice(2, "reopened", LONG), notice(3, "new", "  想换个\n志愿者  "), notice(4, "breached")]
    text = render(notices, public_url=URL)
    lines = text.body.split("\n")
    assert lines[0] == "回访工单提醒：新工单 2 件，重新打开 1 件，超时 1 件"
    assert lines[1] == "Follow-up tickets: 2 new, 1 reopened, 1 past SLA"
    assert text.subject == f"{lines[0]} | {lines[1]}"
    assert "#101 新工单 new：药品还没有收到\nhttps://huifang.example.org/console/tickets/101" in text.body
    assert "#103 新工单 new：想换个 志愿者\n" in text.body  # on one line
    assert "#104 超时 past SLA：" in text.body
    (long_line,) = [line for line in lines if line.startswith("#102")]
    shown = long_line.split("：", 1)[1]
    assert len(shown) == 40 and shown.endswith("…") and LONG.startswith(shown[:-1])


def test_without_a_public_url_there_are_no_links_and_unknown_kinds_show_their_name() -> None:
    text = render([notice(1, "new"), notice(2, "follow_up_due", "回访到期", ticket_id=None)], public_url=None)
    assert "http" not in text.body
    assert text.body.split("\n")[0] == "回访工单提醒：新工单 1 件，follow_up_due 1 件"
    assert excerpt("短") == "短"


def test_a_digest_longer_than_the_channel_carries_says_how_many_are_left_out() -> None:
    notices = [notice(i, "new", LONG) for i in range(1, 31)]
    text = render(notices, public_url=URL, max_bytes=2048)
    assert len(text.body.encode()) <= 2048
    assert text.body.startswith("回访工单提醒：新工单 30 件")  # the counts cover them all
    shown = text.body.count("/console/tickets/1")
    assert 0 < shown < 30
    assert f"……另有 {30 - shown} 条，请到控制台查看 / {30 - shown} more in the console" in text.body
    assert text.body.endswith("https://huifang.example.org/console/tickets")
    assert render(notices, public_url=URL).body.count("/console/tickets/1") == 30  # e-mail: no limit


# --- sending -------------------------------------------------------------------------------


async def test_each_person_gets_one_message_listing_their_notices_by_their_channel(
    db: Database, office: Office, notifier: StaffNotifier, fake_wecom: FakeWeComApi, smtp_server: SmtpServer
) -> None:
    by_mail = await office.person("zhang", via="email", email="zhang@example.org")
    by_wecom = await office.person("li", via="wecom", wecom="lisi")
    mail_ids = [await office.notice(by_mail, kind) for kind in ("new", "new", "reopened")]
    wecom_ids = [await office.notice(by_wecom, kind) for kind in ("new", "breached")]

    stats = await digest(db, notifier)

    assert (stats.people, stats.sent, stats.notices_sent, stats.failed) == (2, 2, 5, 0)
    (mail,) = smtp_server.mailbox.messages
    assert mail["To"] == "zhang@example.org"
    assert mail["Subject"].startswith("回访工单提醒：新工单 2 件，重新打开 1 件")
    body = mail.get_content().replace("\r\n", "\n")  # CRLF on the wire
    tickets = [n.ticket_id for n in await office.notices(by_mail)]
    assert all(f"https://huifang.example.org/console/tickets/{t}\n" in body for t in tickets)
    assert body.count("https://") == 3
    ((userid, content),) = fake_wecom.delivered
    assert userid == "lisi" and content.startswith("回访工单提醒：新工单 1 件，超时 1 件")
    sent = {n.id: (n.sent_at, n.via, n.attempts) for n in await office.notices()}
    assert all(sent[i] == (T0, "email", 0) for i in mail_ids)
    assert all(sent[i] == (T0, "wecom", 0) for i in wecom_ids)

    again = await digest(db, notifier, at=T0 + timedelta(minutes=10))
    assert (again.people, again.sent) == (0, 0)
    assert len(smtp_server.mailbox.messages) == 1 and len(fake_wecom.delivered) == 1

    newer = await office.notice(by_mail, "breached", "满意度回访超时")
    third = await digest(db, notifier, at=T0 + timedelta(minutes=20))
    assert (third.sent, third.notices_sent) == (1, 1)
    latest = smtp_server.mailbox.messages[-1].get_content().replace("\r\n", "\n")
    assert latest.startswith("回访工单提醒：超时 1 件") and "满意度回访超时" in latest
    assert (await office.notices(by_mail))[-1].id == newer


async def test_people_who_want_nothing_or_are_disabled_are_marked_without_sending(
    db: Database, office: Office, notifier: StaffNotifier, fake_wecom: FakeWeComApi, smtp_server: SmtpServer
) -> None:
    quiet = await office.person("quiet", via="none", wecom="zhangsan")
    gone = await office.person("gone", via="email", disabled=True)
    quiet_notice = await office.notice(quiet, "new")
    gone_notice = await office.notice(gone, "new")

    stats = await digest(db, notifier)

    assert (stats.muted, stats.people, stats.sent) == (2, 0, 0)
    assert smtp_server.mailbox.messages == [] and fake_wecom.delivered == []
    marked = {n.id: (n.sent_at, n.via) for n in await office.notices()}
    assert marked == {quiet_notice: (T0, "none"), gone_notice: (T0, "disabled")}


async def test_a_failing_channel_is_retried_on_later_runs_then_given_up(
    db: Database, office: Office, notifier: StaffNotifier, fake_wecom: FakeWeComApi
) -> None:
    person = await office.person("wu", via="wecom", wecom="wangwu")
    ids = [await office.notice(person, "new"), await office.notice(person, "reopened")]
    fake_wecom.fail_next(SEND_PATH, 60020, times=2)

    first = await digest(db, notifier, max_attempts=3)
    assert (first.sent, first.failed, first.gave_up) == (0, 1, 0)
    pending = await office.notices(person)
    assert [(n.sent_at, n.via, n.attempts) for n in pending] == [(None, None, 1)] * 2
    assert "60020" in pending[0].last_error and "configuration" in pending[0].last_error
    assert "fake-wecom" not in pending[0].last_error  # neither secret nor token stored

    later = await office.notice(person, "breached")  # joins the pending ones
    second = await digest(db, notifier, at=T0 + timedelta(minutes=10), max_attempts=3)
    assert second.failed == 1
    fake_wecom.fail_next(SEND_PATH, 60020, times=1)
    third = await digest(db, notifier, at=T0 + timedelta(minutes=20), max_attempts=3)
    assert (third.failed, third.gave_up) == (1, 2)  # the first two reached 3 attempts
    states = {n.id: (n.via, n.attempts) for n in await office.notices(person)}
    assert states == {ids[0]: ("failed", 3), ids[1]: ("failed", 3), later: (None, 2)}

    fourth = await digest(db, notifier, at=T0 + timedelta(minutes=30), max_attempts=3)
    assert (fourth.sent, fourth.notices_sent) == (1, 1)  # only the one not given up
    ((_, content),) = fake_wecom.delivered
    assert content.startswith("回访工单提醒：超时 1 件")
    assert {n.id: n.via for n in await office.notices(person)}[later] == "wecom"


async def test_a_retryable_failure_goes_out_on_the_next_run(
    db: Database, office: Office, notifier: StaffNotifier, fake_wecom: FakeWeComApi
) -> None:
    person = await office.person("li", via="wecom", wecom="lisi")
    await office.notice(person, "new")
    fake_wecom.fail_next(SEND_PATH, -1)  # system busy
    assert (await digest(db, notifier)).failed == 1
    assert (await digest(db, notifier, at=T0 + timedelta(minutes=10))).sent == 1
    (sent,) = await office.notices(person)
    assert (sent.sent_at, sent.via, sent.attempts) == (T0 + timedelta(minutes=10), "wecom", 1)
    assert len(fake_wecom.delivered) == 1


async def test_an_address_that_can_never_be_reached_is_given_up_at_once(
    db: Database, office: Office, notifier: StaffNotifier, fake_wecom: FakeWeComApi, smtp_server: SmtpServer
) -> None:
    stranger = await office.person("stranger", via="wecom", wecom="not-a-member")
    no_mail = await office.person("nomail", via="email", email="")
    smtp_server.mailbox.refuse.add("refused@example.org")
    refused = await office.person("refused", via="email", email="refused@example.org")
    for person in (stranger, no_mail, refused):
        await office.notice(person, "new")

    stats = await digest(db, notifier, max_attempts=5)

    assert (stats.failed, stats.gave_up) == (3, 3)
    errors = {n.user_id: (n.via, n.attempts, n.last_error) for n in await office.notices()}
    assert errors[stranger][:2] == ("failed", 1) and "invalid_user" in errors[stranger][2]
    assert errors[no_mail][:2] == ("failed", 1) and "no_address" in errors[no_mail][2]
    assert errors[refused][:2] == ("failed", 1) and "550" in errors[refused][2]


async def test_a_channel_this_deployment_lacks_counts_as_a_failed_attempt(
    db: Database, office: Office, smtp_server: SmtpServer
) -> None:
    person = await office.person("li", via="wecom", wecom="lisi")
    await office.notice(person, "new")
    stats = await digest(db, StaffNotifier([smtp_server.channel()]), max_attempts=2)
    (waiting,) = await office.notices(person)
    assert stats.failed == 1 and (waiting.via, waiting.attempts) == (None, 1)
    assert "HUIFANG_WECOM_CORP_ID" in waiting.last_error


async def test_a_full_batch_stops_at_the_last_person_it_served(
    db: Database, office: Office, notifier: StaffNotifier, smtp_server: SmtpServer
) -> None:
    people = [await office.person(f"p{i}") for i in range(3)]
    for person in people:
        await office.notice(person, "new")
    first = await digest(db, notifier, batch=2)
    assert (first.sent, first.last_user_id) == (2, people[1])
    rest = await digest(db, notifier, batch=2, after_user_id=people[1])
    assert (rest.sent, rest.last_user_id) == (1, None)
    assert [m["To"] for m in smtp_server.mailbox.messages] == [f"p{i}@example.org" for i in range(3)]


async def test_add_notice_tells_a_person_once_about_the_same_ticket_and_kind(db: Database, office: Office) -> None:
    person = await office.person("zhang")
    ticket = await office.ticket()
    async with db.transaction() as s:
        first = await add_notice(s, user_id=person, ticket_id=ticket, kind="breached", text="超时", now=T0)
        twice = await add_notice(s, user_id=person, ticket_id=ticket, kind="breached", text="超时", now=T0)
        other = await add_notice(s, user_id=person, ticket_id=ticket, kind="reopened", text="重新打开", now=T0)
    assert first is not None and twice is None and other is not None
    assert [(n.kind, n.sent_at, n.attempts) for n in await office.notices(person)] == [
        ("breached", None, 0), ("reopened", None, 0)
    ]


# --- two runs at once ----------------------------------------------------------------------


async def test_two_runs_at_once_on_postgresql_send_each_notice_once(pg_url: str) -> None:
    first_db, second_db = Database(pg_url), Database(pg_url)
    office = Office(first_db)
    try:
        async with FakeWeComApi() as fake:
            people = [await office.person(f"p{i}", via="wecom", wecom=f"member{i}") for i in range(6)]
            fake.members = {f"member{i}" for i in range(6)}
            for person in people:
                await office.notice(person, "new")
                await office.notice(person, "breached")
            fake.delay_next(SEND_PATH, 0.2, times=12)  # so the runs overlap
            notifiers = [StaffNotifier([wecom_channel(fake)]), StaffNotifier([wecom_channel(fake)])]

            stats = await asyncio.gather(digest(first_db, notifiers[0]), digest(second_db, notifiers[1]))

            for n in notifiers:
                await n.aclose()
            assert sorted(userid for userid, _ in fake.delivered) == sorted(f"member{i}" for i in range(6))
            assert sum(s.sent for s in stats) == 6 and sum(s.notices_sent for s in stats) == 12
            assert all(s.sent for s in stats) and sum(s.busy for s in stats) >= 1  # both worked, each skipped some
            assert {(n.via, n.sent_at) for n in await office.notices()} == {("wecom", T0)}
    finally:
        await first_db.dispose()
        await second_db.dispose()


@pytest.mark.parametrize("kind", ["new", "reopened", "breached"])
def test_every_kind_the_ticket_code_writes_has_a_chinese_label(kind: str) -> None:
    line = render([notice(1, kind)]).body.split("\n")[0]
    assert kind not in line and line.endswith(" 1 件")
