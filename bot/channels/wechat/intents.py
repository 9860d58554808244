"""What a QR scene or a menu key asks for, in the terms the runtime understands.

    scene "c:<category>"    subscribe/scan through a category poster: start that survey
    scene "r:<respondent>"  a respondent's own QR code: bind this openid to them, then start
    menu key "survey:<category>"   start that survey
    menu key "human"        the respondent asks for a person: note it, say someone will call

Anything else (numeric scenes of old posters, menu keys of other features) starts nothing
new: the respondent is asked the current question again, or which group they are in.
A category is never guessed from an unprefixed key, because the category menu also accepts
numbers and scene 3 of some old poster would otherwise start category 3.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, OutMessage
from bot.runtime import BeforeTurn
from storage.repositories.audit import AuditRepository
from storage.repositories.respondents import IdentityTaken, RespondentRepository

log = logging.getLogger(__name__)

CATEGORY_SCENE = "c:"
RESPONDENT_SCENE = "r:"
SURVEY_KEY = "survey:"
HUMAN_KEY = "human"

_CATEGORY = re.compile(r"[A-Za-z0-9_-]{1,62}")
_RESPONDENT = re.compile(r"[1-9][0-9]{0,17}")

HUMAN_NOTE = {
    "zh": "好的，我们已经通知工作人员，他们会尽快和您联系。",
    "en": "Thank you. We have told our staff, and someone will get in touch with you soon.",
}


def category_scene(category: str) -> str:
    if not _CATEGORY.fullmatch(category):
        raise ValueError(f"category code {category!r} cannot be put in a QR scene")
    return CATEGORY_SCENE + category


def respondent_scene(respondent_id: int) -> str:
    if respondent_id < 1:
        raise ValueError("a respondent id is a positive number")
    return f"{RESPONDENT_SCENE}{respondent_id}"


@dataclass(frozen=True, slots=True)
class Intent:
    inbound: Inbound
    before_turn: BeforeTurn | None = None


def interpret(inbound: Inbound, msg_type: str | None = None) -> Intent:
    """The inbound message as the runtime should see it, and any step of our own."""
    if inbound.kind == "unsupported" and inbound.text is None:
        # The runtime reads a message without text as "say where we are" and would skip the
        # polite request; the text also records what arrived ("[image]", "[voice]"…).
        return Intent(replace(inbound, text=f"[{msg_type or 'unsupported'}]"))
    if inbound.kind != "start":
        return Intent(inbound)
    payload = (inbound.start_payload or "").strip()
    plain = replace(inbound, start_payload=None)
    if payload.startswith(CATEGORY_SCENE) and _CATEGORY.fullmatch(code := payload[len(CATEGORY_SCENE) :]):
        return Intent(replace(inbound, start_payload=code))
    if payload.startswith(SURVEY_KEY) and _CATEGORY.fullmatch(code := payload[len(SURVEY_KEY) :]):
        return Intent(replace(inbound, start_payload=code))
    if payload.startswith(RESPONDENT_SCENE) and _RESPONDENT.fullmatch(ref := payload[len(RESPONDENT_SCENE) :]):
        return Intent(plain, _bind_to(int(ref)))
    if payload == HUMAN_KEY:
        return Intent(plain, _human_requested)
    if payload:
        log.info("wechat %s: unknown scene or menu key %r, treated as a plain start", inbound.account, payload)
    return Intent(plain)


def _bind_to(respondent_id: int) -> BeforeTurn:
    async def bind(s: AsyncSession, inbound: Inbound) -> list[OutMessage] | None:
        people = RespondentRepository(s)
        respondent = await people.get(respondent_id)
        if respondent is None:
            log.warning("wechat %s: QR scene names respondent %s, who does not exist", inbound.account, respondent_id)
            return None  # a plain start: greeted, and asked which group
        try:
            await people.add_identity(
                respondent,
                channel=inbound.channel,
                account=inbound.account,
                external_id=inbound.external_id,
                at=inbound.at,
            )
        except IdentityTaken:
            # Moving the openid would send one person's answers into another's survey:
            # keep the existing link, go on with the person it belongs to.
            log.warning(
                "wechat %s: follower already belongs to another respondent; scene r:%s not bound",
                inbound.account,
                respondent_id,
            )
            return None
        await AuditRepository(s).record(
            actor=f"wechat:{inbound.account}",
            action="channel_bound",
            subject_type="respondent",
            subject_id=respondent.id,
            data={"channel": inbound.channel, "account": inbound.account, "via": "qr_scene"},
            at=inbound.at,
        )
        return None

    return bind


async def _human_requested(s: AsyncSession, inbound: Inbound) -> list[OutMessage] | None:
    respondent = await RespondentRepository(s).by_identity(inbound.channel, inbound.account, inbound.external_id)
    subject = ("respondent", str(respondent.id)) if respondent is not None else (
        "channel_identity",
        f"{inbound.channel}:{inbound.account}:{inbound.external_id}",
    )
    await AuditRepository(s).record(
        actor=f"respondent:{respondent.id}" if respondent is not None else f"{inbound.channel}:{inbound.external_id}",
        action="human_requested",
        subject_type=subject[0],
        subject_id=subject[1],
        data={"channel": inbound.channel, "account": inbound.account, "external_id": inbound.external_id},
        at=inbound.at,
    )
    lang = respondent.lang if respondent is not None and respondent.lang in HUMAN_NOTE else "zh"
    return [OutMessage(text=HUMAN_NOTE[lang])]
