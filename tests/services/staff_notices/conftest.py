"""Staff notices: a real database per test (SQLite and PostgreSQL), the fake WeCom API and a
real SMTP server (aiosmtpd) on 127.0.0.1, and an `Office` to set up staff, tickets and
notices directly with the models (the services that create them live elsewhere)."""

from __future__ import annotations

import itertools
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from bot.notify import StaffNotifier
from bot.notify.smtp import SmtpChannel
from bot.notify.wecom import WeComChannel
from storage.db import Database
from storage.models import Organisation, StaffNotice, StaffUser, Ticket
from storage.repositories.respondents import RespondentRepository
from tests.fakes.wecom_api import FakeWeComApi

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SMTP_USER, SMTP_PASSWORD = "huifang@example.org", "smtp-test-password"


class Mailbox:
    """aiosmtpd's handler: keeps every message it accepts; refuses the addresses in `refuse`."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
        self.logins: list[str] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(), SMTP_PASSWORD.encode()
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int

    def channel(self, **options: Any) -> SmtpChannel:
        options.setdefault("starttls", False)
        options.setdefault("timeout_s", 5.0)
        return SmtpChannel(host="127.0.0.1", port=self.port, sender="红十字会回访 <huifang@example.org>", **options)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 (its own thread), taking logins in plaintext since
    the test has no certificate; aiosmtplib logs in only when given a user."""
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=mailbox.authenticate,
        auth_require_tls=False,
        auth_required=False,
    )
    controller.start()
    try:
        yield SmtpServer(mailbox, controller.port)
    finally:
        controller.stop()


@pytest_asyncio.fixture
async def fake_wecom() -> AsyncIterator[FakeWeComApi]:
    async with FakeWeComApi() as fake:
        yield fake


def wecom_channel(fake: FakeWeComApi, *, timeout_s: float = 5.0) -> WeComChannel:
    return WeComChannel(
        corp_id=fake.corp_id, agent_id=fake.agent_id, secret=fake.secret, api_base=fake.api_base, timeout_s=timeout_s
    )


@pytest_asyncio.fixture
async def notifier(fake_wecom: FakeWeComApi, smtp_server: SmtpServer) -> AsyncIterator[StaffNotifier]:
    """Both channels, each against its server on 127.0.0.1."""
    notifier = StaffNotifier([wecom_channel(fake_wecom), smtp_server.channel()])
    try:
        yield notifier
    finally:
        await notifier.aclose()


@dataclass
class Office:
    """Builds staff, tickets and notices, each step in its own transaction."""

    db: Database
    organisation_id: int | None = None
    _serial: Any = field(default_factory=lambda: itertools.count(1))

    async def _organisation(self) -> int:
        if self.organisation_id is None:
            async with self.db.transaction() as s:
                org = Organisation(code="city", name="市红十字会", created_at=T0 - timedelta(days=100))
                s.add(org)
                await s.flush()
                self.organisation_id = org.id
        return self.organisation_id

    async def person(
        self,
        username: str,
        *,
        via: str = "email",
        email: str | None = None,
        wecom: str | None = None,
        disabled: bool = False,
    ) -> int:
        org = await self._organisation()
        async with self.db.transaction() as s:
            user = StaffUser(
                username=username,
                display_name=username,
                password_hash="not-a-real-hash",
                role="staff",
                organisation_id=org,
                email=email if email is not None else f"{username}@example.org",
                wecom_userid=wecom,
                notify_via=via,
                disabled_at=T0 - timedelta(days=1) if disabled else None,
                created_at=T0 - timedelta(days=30),
                updated_at=T0 - timedelta(days=30),
            )
            s.add(user)
            await s.flush()
            return user.id

    async def ticket(self, text: str = "老人说药品还没有收到") -> int:
        org = await self._organisation()
        async with self.db.transaction() as s:
            person = await RespondentRepository(s).create(category="elderly", at=T0 - timedelta(days=3))
            ticket = Ticket(
                organisation_id=org,
                respondent_id=person.id,
                kind="complaint",
                text=text,
                status="new",
                priority=2,
                created_at=T0 - timedelta(hours=1),
                updated_at=T0 - timedelta(hours=1),
            )
            s.add(ticket)
            await s.flush()
            return ticket.id

    async def notice(
        self, user_id: int, kind: str = "new", text: str | None = None, *, ticket_id: int | None = None
    ) -> int:
        if ticket_id is None and text is None:
            ticket_id = await self.ticket()
        async with self.db.transaction() as s:
            notice = StaffNotice(
                user_id=user_id,
                ticket_id=ticket_id,
                kind=kind,
                text=text or f"工单提醒 {next(self._serial)}",
                created_at=T0 - timedelta(minutes=5),
                attempts=0,
            )
            s.add(notice)
            await s.flush()
            return notice.id

    async def notices(self, user_id: int | None = None) -> list[StaffNotice]:
        async with self.db.transaction() as s:
            query = select(StaffNotice).order_by(StaffNotice.id)
            if user_id is not None:
                query = query.where(StaffNotice.user_id == user_id)
            return list(await s.scalars(query))


@pytest_asyncio.fixture
async def office(db: Database) -> Office:
    return Office(db)
