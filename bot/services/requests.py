"""What a respondent asks for outside a survey's questions, whatever the channel:
to be linked to the respondent a personal QR code names, to talk to a person, or to have
staff read what they wrote after their survey ended."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, OutMessage
from bot.services import respondents
from bot.services.ticket_config import TicketConfig
from bot.services.tickets import open_ticket
from storage.models import Respondent
from storage.repositories.audit import AuditRepository
from storage.repositories.respondents import IdentityTaken, RespondentRepository
from storage.repositories.sessions import SessionRepository
from storage.repositories.tickets import TicketRepository

log = logging.getLogger(__name__)

# The ticket's text when the request came without words of their own (a menu key).
HUMAN_ASKED = "请求人工服务 asked to talk to a person"
HUMAN_NOTE = {
    "zh": "好的，我们已经通知工作人员，他们会尽快和您联系。",
    "en": "Thank you. We have told our staff, and someone will get in touch with you soon.",
}
MESSAGE_NOTE = {
    "zh": "已收到您的留言，我们已转给工作人员，他们会尽快和您联系。",
    "en": "We have your message and have passed it to our staff; someone will get in touch with you soon.",
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


async def human_requested(
    s: AsyncSession, respondent: Respondent | None, inbound: Inbound, *, tickets: TicketConfig | None = None
) -> list[OutMessage]:
    """The respondent asked for a person: a ticket of kind "human" for staff (one open at a
    time: asking again while it is open adds to its history instead), and they are told
    someone will call. Someone we do not know yet (no group chosen, so no respondent) is
    only noted in the audit log: a ticket needs a person staff can look up and write to."""
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
    if respondent is not None:
        await _ticket_for(s, respondent, inbound, "human", tickets)
    lang = respondent.lang if respondent is not None and respondent.lang in HUMAN_NOTE else "zh"
    return [OutMessage(text=HUMAN_NOTE[lang])]


async def message_for_staff(
    s: AsyncSession, respondent: Respondent, inbound: Inbound, *, kind: str, tickets: TicketConfig | None = None
) -> list[OutMessage]:
    """Words written when no survey is open (after it ended): the bot says "如有其他问题，请直接
    留言", so what they leave reaches staff: in the history of their newest open ticket,
    whatever its kind (most likely what they write about), else as a new ticket of `kind`;
    and they are told so."""
    await AuditRepository(s).record(
        actor=f"respondent:{respondent.id}", action="message_for_staff", subject_type="respondent",
        subject_id=str(respondent.id), data={"channel": inbound.channel, "kind": kind}, at=inbound.at,
    )  # fmt: skip
    await _ticket_for(s, respondent, inbound, kind, tickets, join_any=True)
    return [OutMessage(text=MESSAGE_NOTE[respondent.lang if respondent.lang in MESSAGE_NOTE else "zh"])]


async def _ticket_for(
    s: AsyncSession,
    respondent: Respondent,
    inbound: Inbound,
    kind: str,
    config: TicketConfig | None,
    *,
    join_any: bool = False,
) -> None:
    repo = TicketRepository(s)
    words = (inbound.text or "").strip()
    already = await repo.open_for_respondent(respondent.id, None if join_any else kind)
    if already is not None:
        await repo.add_event(
            already.id, at=inbound.at, actor=f"respondent:{respondent.id}", kind="reply",
            text=words or HUMAN_ASKED, data={"asked_again": True, "channel": inbound.channel},
        )  # fmt: skip
        return
    # Numbered by the person's tickets of this kind so far: two deliveries racing past the
    # check above (two channels of one person) make the same key, and the second opens nothing.
    number = await repo.count_for_respondent(respondent.id, kind) + 1
    session = await SessionRepository(s).open_for(respondent.id)
    await open_ticket(
        s,
        respondent=respondent,
        kind=kind,
        text=words or HUMAN_ASKED,
        session_id=session.id if session is not None else None,
        category=respondent.category,
        context={"channel": inbound.channel, "account": inbound.account, "via": inbound.kind},
        dedup_key=f"{kind}:{respondent.id}:{number}",
        now=inbound.at,
        config=config,
    )
