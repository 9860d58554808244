"""A campaign's session moves its member (keyed by campaign and respondent), whatever the
channel — a chat invitation's session or a phone interview's alike:

- consent or a first answer → started (with the session, and the interviewer of a phone
  interview);
- completed → completed;
- consent declined → declined; the session ended unfinished (long silence, replaced, the
  person left) → declined too, but only for someone the invitation reached (invited,
  started): a member on the call list stays there;
- 退订 → opted_out.

The member only moves forward (storage/repositories/campaigns.py `_MOVES_FROM`): a repeated
event changes nothing."""

from __future__ import annotations

from bot.services.handlers.context import Context
from flows import events as ev
from storage.repositories.campaigns import CampaignRepository

_MOVES: dict[type, str] = {
    ev.ConsentGiven: "started",
    ev.AnswerRecorded: "started",
    ev.SessionCompleted: "completed",
    ev.ConsentDeclined: "declined",
    ev.SessionExpired: "abandoned",
    ev.OptedOut: "opted_out",
}


async def on_campaign_event(ctx: Context, e: ev.Event) -> None:
    to = _MOVES.get(type(e))
    if ctx.campaign_id is None or to is None:
        return
    moved = await CampaignRepository(ctx.db).advance(
        ctx.campaign_id, ctx.respondent.id, to, now=ctx.now, session_id=ctx.session_id,
        channel=ctx.channel if to == "started" else None,
        interviewer=ctx.interviewer if to == "started" else None,
    )  # fmt: skip
    if moved:
        status = "declined" if to == "abandoned" else to
        await ctx.audit("campaign_member_moved", {"campaign_id": ctx.campaign_id, "status": status})
