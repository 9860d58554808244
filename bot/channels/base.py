"""What every channel adapter hands the runtime, and what it gets back.

Adapters stay thin: they verify and parse the platform's payload into an `Inbound`, call
`Runtime.handle`, and render the `Reply` in the platform's own format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from flows.events import Choice

InboundKind = Literal[
    "text",  # typed text, or a voice note that the platform transcribed
    "choice",  # a button press; `text` carries the option number
    "unsupported",  # image, location, link, sticker, untranscribed voice…
    "start",  # subscribe / scan / deep link / menu click: begin or resume a survey
    "unreachable",  # the respondent unsubscribed or blocked the bot
]


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str  # "wechat" | "telegram" | "console" | "simulator"
    account: str  # which Official Account / bot; "local" for the console and the simulator
    external_id: str  # openid, Telegram chat id, simulator visitor id…
    kind: InboundKind
    delivery_key: str  # unique per delivery: a redelivery carries the same key
    at: datetime  # UTC
    text: str | None = None
    # For kind="start": a category code or name, or a respondent reference, from a QR
    # scene, a deep link or a menu key; None asks the respondent which group they are in.
    start_payload: str | None = None
    lang: str | None = None  # a hint from the platform ("zh", "en")
    # The organisation whose account or bot the message came through: a new respondent
    # belongs to it and takes its flows.
    organisation_id: int | None = None
    # kind="start" through a personal QR code: link the sender to this respondent first.
    bind_respondent: int | None = None
    # The respondent asked for a person (a menu key, a command): staff are told.
    wants_human: bool = False


@dataclass(frozen=True, slots=True)
class OutMessage:
    text: str
    choices: tuple[Choice, ...] = ()
    multiple: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """Everything to say back for one inbound message, in order."""

    messages: tuple[OutMessage, ...] = field(default_factory=tuple)
    duplicate: bool = False  # a redelivery: the stored first reply, nothing recorded

    @property
    def text(self) -> str:
        return "\n\n".join(m.text for m in self.messages)
