"""What a respondent asks for outside a survey's questions, whatever the channel:
to be linked to the respondent a personal QR code names, or to talk to a person."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, OutMessage
from bot.services import respondents
from storage.models import Respondent
from storage.repositories.audit import AuditRepository
from storage.repositories.respondents import IdentityTaken, RespondentRepository

log = logging.getLogger(__name__)

HUMAN_NOTE = {
    "zh": "好的，我们已经通知工作人员，他们会尽快和您联系。",
    "en": "Thank you. We have told our staff, and someone will get in touch with you soon.",
}


async def bind_identity(s: AsyncSession, inbound: Inbound) -> None:
    """Link the sender to the respondent their personal QR code names (`r:<id>`).

    Nothing is linked when the respondent does not exist, or when the sender already belongs
    to someone else: moving them would send one person's answers into another's survey.
    Either way the message goes on as a plain start.
    """
    assert inbound.bind_respondent is not None
    people = RespondentRepository(s)
    respondent = await people.get(inbound.bind_respondent)
    if respondent is None:
        log.warning(
            "%s %s: QR code names respondent %s, who does not exist",
            inbound.channel, inbound.account, inbound.bind_respondent,
        )
        return
    # The sender's new identity is a lock key nobody else can see yet: hold the person's own.
    await respondents.lock_person(s, respondent)
    try:
        await people.add_identity(
            respondent,
            channel=inbound.channel,
            account=inbound.account,
            external_id=inbound.external_id,
            at=inbound.at,
        )
    except IdentityTaken:
        log.warning(
            "%s %s: sender already belongs to another respondent; r:%s not bound",
            inbound.channel, inbound.account, inbound.bind_respondent,
        )  # fmt: skip
        return
    await AuditRepository(s).record(
        actor=f"{inbound.channel}:{inbound.account}",
        action="channel_bound",
        subject_type="respondent",
        subject_id=respondent.id,
        data={"channel": inbound.channel, "account": inbound.account, "via": "qr_scene"},
        at=inbound.at,
    )


async def human_requested(s: AsyncSession, respondent: Respondent | None, inbound: Inbound) -> list[OutMessage]:
    """The respondent asked for a person: noted for staff, and they are told someone will call."""
    if respondent is not None:
        actor, subject = f"respondent:{respondent.id}", ("respondent", str(respondent.id))
    else:
        actor = f"{inbound.channel}:{inbound.external_id}"
        subject = ("channel_identity", f"{inbound.channel}:{inbound.account}:{inbound.external_id}")
    await AuditRepository(s).record(
        actor=actor,
        action="human_requested",
        subject_type=subject[0],
        subject_id=subject[1],
        data={"channel": inbound.channel, "account": inbound.account, "external_id": inbound.external_id},
        at=inbound.at,
    )
    lang = respondent.lang if respondent is not None and respondent.lang in HUMAN_NOTE else "zh"
    return [OutMessage(text=HUMAN_NOTE[lang])]
