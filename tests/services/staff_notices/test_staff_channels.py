"""The two staff channels against their servers on 127.0.0.1: WeCom through wechatpy (token
cached, refreshed once when refused, errors classified, a slow answer cut off) and SMTP
(UTF-8 subject and body, login, refusals classified, no plaintext fallback)."""

from __future__ import annotations

import time

from bot.notify import NO_ADDRESS, NOT_CONFIGURED, StaffNotifier
from bot.notify.wecom import TIMEOUT, WeComChannel
from tests.fakes.wecom_api import SEND_PATH, TOKEN_PATH, FakeWeComApi
from tests.services.staff_notices.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer, free_port, wecom_channel

BODY = "回访工单提醒：新工单 1 件\nFollow-up tickets: 1 new\n\n#7 新工单 new：老人说药品还没有收到"


# --- WeCom ---------------------------------------------------------------------------------


async def test_wecom_sends_a_text_message_from_the_application_and_reuses_its_token(fake_wecom: FakeWeComApi) -> None:
    channel = wecom_channel(fake_wecom)
    first = await channel.send("zhangsan", "subject is not used", BODY)
    second = await channel.send("lisi", "", "第二条")
    await channel.aclose()

    assert first.ok and second.ok and first.data["msgid"]
    assert fake_wecom.delivered == [("zhangsan", BODY), ("lisi", "第二条")]
    assert fake_wecom.count(TOKEN_PATH) == 1  # cached in memory until it expires
    (call, _) = fake_wecom.calls(SEND_PATH)
    assert call.json["agentid"] == fake_wecom.agent_id and call.json["msgtype"] == "text"
    assert "corpsecret" not in call.query  # the secret goes to gettoken only


async def test_a_refused_token_is_fetched_again_and_the_message_resent_once(fake_wecom: FakeWeComApi) -> None:
    channel = wecom_channel(fake_wecom)
    await channel.send("zhangsan", "", "先拿到令牌")
    fake_wecom.fail_next(SEND_PATH, 40014)
    result = await channel.send("zhangsan", "", "令牌被拒后重发")
    assert result.ok
    assert fake_wecom.count(TOKEN_PATH) == 2 and fake_wecom.count(SEND_PATH) == 3
    assert fake_wecom.delivered[-1] == ("zhangsan", "令牌被拒后重发")

    fake_wecom.expire_tokens()  # 42001 on the cached token: a new one is fetched
    assert (await channel.send("lisi", "", "过期后")).ok
    assert fake_wecom.count(TOKEN_PATH) == 3


async def test_a_token_refused_twice_is_not_refetched_without_bound(fake_wecom: FakeWeComApi) -> None:
    channel = wecom_channel(fake_wecom)
    fake_wecom.fail_next(SEND_PATH, 40014, times=5)
    result = await channel.send("zhangsan", "", BODY)
    assert (result.ok, result.errcode, result.retryable) == (False, 40014, True)
    assert fake_wecom.count(SEND_PATH) == 2 and fake_wecom.count(TOKEN_PATH) == 2
    assert fake_wecom.delivered == []


async def test_an_ip_not_allowed_is_a_configuration_failure_with_wecoms_words(fake_wecom: FakeWeComApi) -> None:
    fake_wecom.fail_next(SEND_PATH, 60020)
    result = await wecom_channel(fake_wecom).send("zhangsan", "", BODY)
    assert (result.ok, result.errcode, result.retryable, result.permanent) == (False, 60020, False, False)
    assert "not allow to access from your ip" in result.errmsg
    assert fake_wecom.count(SEND_PATH) == 1  # no refresh, no retry now


async def test_a_member_the_application_cannot_reach_is_a_permanent_failure(fake_wecom: FakeWeComApi) -> None:
    result = await wecom_channel(fake_wecom).send("nobody-here", "", BODY)
    assert (result.ok, result.permanent, result.reason) == (False, True, "invalid_user")


async def test_a_wrong_secret_is_a_configuration_failure_that_does_not_leak_it(fake_wecom: FakeWeComApi) -> None:
    channel = WeComChannel(
        corp_id=fake_wecom.corp_id, agent_id=fake_wecom.agent_id, secret="an-old-secret", api_base=fake_wecom.api_base
    )
    result = await channel.send("zhangsan", "", BODY)
    assert (result.ok, result.errcode, result.retryable, result.permanent) == (False, 40001, False, False)
    assert "an-old-secret" not in result.errmsg
    assert fake_wecom.count(SEND_PATH) == 0


async def test_a_slow_wecom_is_cut_off_as_retryable(fake_wecom: FakeWeComApi) -> None:
    channel = wecom_channel(fake_wecom, timeout_s=0.3)
    assert (await channel.send("zhangsan", "", "拿令牌")).ok
    fake_wecom.delay_next(SEND_PATH, 3.0)
    started = time.perf_counter()
    result = await channel.send("zhangsan", "", BODY)
    assert time.perf_counter() - started < 2.0
    assert (result.ok, result.errcode, result.retryable) == (False, TIMEOUT, True)
    assert "fake-wecom" not in result.errmsg  # neither secret nor token in what is stored


async def test_an_unreachable_wecom_is_retryable_and_names_no_url() -> None:
    channel = wecom_channel(FakeWeComApi(base_url=f"http://127.0.0.1:{free_port()}"), timeout_s=1.0)
    result = await channel.send("zhangsan", "", BODY)
    assert (result.ok, result.retryable) == (False, True)
    assert "corpsecret" not in result.errmsg and "fake-wecom-secret" not in result.errmsg


# --- e-mail --------------------------------------------------------------------------------


async def test_an_email_arrives_with_its_chinese_subject_and_body_intact(smtp_server: SmtpServer) -> None:
    result = await smtp_server.channel().send("zhang.san@example.org", "回访工单提醒：新工单 1 件", BODY)
    assert result.ok
    (message,) = smtp_server.mailbox.messages
    assert message["Subject"] == "回访工单提醒：新工单 1 件"
    assert message["To"] == "zhang.san@example.org"
    assert message["From"].addresses[0].display_name == "红十字会回访"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == BODY  # CRLF on the wire
    assert smtp_server.mailbox.envelopes == [("huifang@example.org", ["zhang.san@example.org"])]
    assert smtp_server.mailbox.logins == []


async def test_the_channel_logs_in_when_given_a_user(smtp_server: SmtpServer) -> None:
    good = await smtp_server.channel(username=SMTP_USER, password=SMTP_PASSWORD).send("a@example.org", "s", "正文")
    bad = await smtp_server.channel(username=SMTP_USER, password="wrong").send("a@example.org", "s", "正文")
    assert good.ok and smtp_server.mailbox.logins == [SMTP_USER]
    assert (bad.ok, bad.errcode, bad.retryable, bad.permanent) == (False, 535, False, False)
    assert "wrong" not in bad.errmsg
    assert len(smtp_server.mailbox.messages) == 1


async def test_a_refused_address_is_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse.add("gone@example.org")
    result = await smtp_server.channel().send("gone@example.org", "s", "正文")
    assert (result.ok, result.errcode, result.permanent, result.reason) == (False, 550, True, "address_refused")
    assert smtp_server.mailbox.messages == []


async def test_starttls_required_but_not_offered_is_a_configuration_failure_not_plaintext(
    smtp_server: SmtpServer,
) -> None:
    result = await smtp_server.channel(starttls=True).send("a@example.org", "s", "正文")
    assert (result.ok, result.retryable, result.permanent) == (False, False, False)
    assert "STARTTLS" in result.errmsg
    assert smtp_server.mailbox.messages == []


async def test_a_mail_server_that_is_down_is_retryable(smtp_server: SmtpServer) -> None:
    channel = smtp_server.channel()
    channel._port = free_port()  # nobody listens there
    result = await channel.send("a@example.org", "s", "正文")
    assert (result.ok, result.retryable) == (False, True)


# --- the notifier --------------------------------------------------------------------------


async def test_the_notifier_says_what_is_missing_instead_of_sending(smtp_server: SmtpServer) -> None:
    notifier = StaffNotifier([smtp_server.channel()])
    unconfigured = await notifier.send("wecom", "zhangsan", "s", "正文")
    no_address = await notifier.send("email", None, "s", "正文")
    assert (unconfigured.errcode, unconfigured.retryable, unconfigured.permanent) == (NOT_CONFIGURED, False, False)
    assert "HUIFANG_WECOM_CORP_ID" in unconfigured.errmsg
    assert (no_address.errcode, no_address.permanent) == (NO_ADDRESS, True)
    assert notifier.channels == ("email",) and notifier.max_bytes("email") is None
    assert smtp_server.mailbox.messages == []
