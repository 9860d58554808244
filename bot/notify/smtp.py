"""E-mail to staff over SMTP (aiosmtplib): one plain-text UTF-8 message per digest.

`starttls`: upgrade a plain connection (port 587) and refuse to go on without it;
`use_tls`: TLS from the first byte (port 465, as Tencent exmail and NetEase use). Both off
only for a relay on the same machine or network, or a test server.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from bot.channels.wechat.api import NETWORK_ERROR, TIMEOUT
from bot.dispatch.sender import SendResult

CHANNEL = "email"
BAD_ADDRESS = -3101
SMTP_ERROR = -3102  # refused in a way that is not a reply code (STARTTLS not offered…)


class SmtpChannel:
    name = CHANNEL
    max_bytes: int | None = None

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        use_tls: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        if starttls and use_tls:
            raise ValueError("choose STARTTLS (port 587) or TLS from the start (port 465), not both")
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username or None
        self._password = password or None
        self._starttls = starttls
        self._use_tls = use_tls
        self._timeout_s = timeout_s
        # aiosmtplib's timeout is per step (connect, EHLO, each command); this is the whole.
        self._deadline_s = 4 * timeout_s
        # make_msgid() would ask the resolver for this machine's name on every message.
        self._domain = sender.rpartition("@")[2].strip(" >") or "huifang.invalid"

    async def send(self, address: str, subject: str, body: str) -> SendResult:
        message = EmailMessage()
        try:
            message["From"] = self._sender
            message["To"] = address
            message["Subject"] = subject
        except (ValueError, TypeError) as error:  # a malformed address, caught by the header parser
            detail = f"not an e-mail address: {type(error).__name__}"
            return SendResult(False, BAD_ADDRESS, detail, permanent=True, reason="bad_address")
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self._domain)
        message.set_content(body)  # non-ASCII text: UTF-8, quoted-printable or base64 as fits
        try:
            await asyncio.wait_for(
                aiosmtplib.send(
                    message,
                    hostname=self._host,
                    port=self._port,
                    username=self._username,
                    password=self._password,
                    start_tls=self._starttls,
                    use_tls=self._use_tls,
                    timeout=self._timeout_s,
                ),
                self._deadline_s,
            )
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPRecipientRefused) as error:
            return SendResult(False, _code(error), _text(error), permanent=True, reason="address_refused")
        except aiosmtplib.SMTPAuthenticationError as error:
            return SendResult(False, _code(error), f"SMTP login refused: {_text(error)}")
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            return SendResult(False, TIMEOUT, "the mail server did not answer in time", retryable=True)
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected) as error:
            return SendResult(False, NETWORK_ERROR, f"mail server unreachable: {type(error).__name__}", retryable=True)
        except aiosmtplib.SMTPResponseException as error:
            # 4xx: try later (greylisting, a full queue); 5xx: refused, an operator must look.
            return SendResult(False, error.code, _text(error), retryable=400 <= error.code < 500)
        except aiosmtplib.SMTPException as error:
            return SendResult(False, SMTP_ERROR, f"SMTP error: {type(error).__name__}: {error}"[:500])
        except OSError as error:
            return SendResult(False, NETWORK_ERROR, f"mail server unreachable: {type(error).__name__}", retryable=True)
        return SendResult(True, 0, "ok")

    async def aclose(self) -> None:
        return None  # one connection per message: nothing held between digests


def _code(error: Exception) -> int:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        return error.recipients[0].code
    return int(getattr(error, "code", 0) or 0)


def _text(error: Exception) -> str:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        error = error.recipients[0]
    message = getattr(error, "message", None) or str(error)
    return f"SMTP {_code(error)}: {message}"[:500]
