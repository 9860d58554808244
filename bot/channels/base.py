"""What every channel adapter hands the runtime, and what it gets back.

Adapters stay thin: they verify and parse the platform's payload into an `Inbound`, call
`Runtime.handle`, and render the `Reply` in the platform's own format.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from flows.events import Choice

# What a respondent says is kept to this many characters (Telegram's own limit for a
# message). A longer answer is cut rather than refused: refusing would lose it, and WeChat
# would retry and then show the respondent "该公众号暂时无法提供服务".
MAX_TEXT_CHARS = 4096
# inbound_messages.delivery_key holds 200 characters, and a late reply is queued in the
# outbox as "reply:<delivery key>" in 200 as well.
MAX_DELIVERY_KEY = 200 - len("reply:")
# PostgreSQL refuses U+0000 in text, and a lone surrogate cannot be encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

InboundKind = Literal[
    "text",  # typed text, or a voice note that the platform transcribed
    "choice",  # a button press; `text` carries the option number
    "unsupported",  # image, location, link, sticker, untranscribed voice…
    "start",  # subscribe / scan / deep link / menu click: begin or resume a survey
    "unreachable",  # the respondent unsubscribed or blocked the bot
]


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str  # "wechat" | "telegram" | "console" | "simulator" | "interview"
    account: str  # which Official Account / bot; "local" for the console and the simulator
    external_id: str  # openid, Telegram chat id, simulator visitor id…
    kind: InboundKind
    delivery_key: str  # unique per delivery: a redelivery carries the same key
    at: datetime  # UTC, our clock: when the message arrived here
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
    # When the platform says it was sent (WeChat CreateTime), UTC. The sender controls it:
    # kept for the record, never used to decide anything. None when absent or absurd.
    platform_at: datetime | None = None


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


def storable(text: str) -> bool:
    """False for text no database column can take (NUL, lone surrogates): refuse it."""
    return _UNSTORABLE.search(text) is None


def clip_text(text: str) -> str:
    return text[:MAX_TEXT_CHARS]


def delivery_key(channel: str, account: str, identity: str) -> str:
    """`<channel>:<account>:<identity>`, where the identity names the delivery and its
    sender ("msg:<openid>:<MsgId>"). When that would not fit, the identity is replaced by
    its SHA-256, so a legal message's key is never refused and a redelivery keeps its key."""
    key = f"{channel}:{account}:{identity}"
    if len(key) <= MAX_DELIVERY_KEY:
        return key
    # "h:" never starts an identity ("msg:", "evt:", "upd:"…): no clash with an unhashed key.
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{channel}:{account}:h:{digest}"
