"""Respondents as the channels and the console see them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.locks import identity_key, lock_respondent, try_lock_respondent
from storage.models import Respondent
from storage.repositories.organisations import OrganisationRepository, Scope
from storage.repositories.respondents import RespondentRepository
from storage.repositories.sessions import SessionRepository


async def has_open_survey(db: Database, channel: str, account: str, external_id: str) -> bool:
    """Whether the person behind this channel identity is in the middle of a survey."""
    async with db.transaction() as s:
        respondent = await RespondentRepository(s).by_identity(channel, account, external_id)
        return respondent is not None and await SessionRepository(s).open_for(respondent.id) is not None


async def people_with_phone(db: Database, phone: str, organisation_id: int | None) -> list[tuple[int, str, str]]:
    """(id, name, category) of the real respondents with this phone number, in the
    organisation and those under it (anywhere with None): whom an interview recorded at
    the terminal is about."""
    from bot.services.respondent_import import normalise_phone  # the import's own rule

    number = normalise_phone(phone)
    if number is None:
        return []
    async with db.transaction() as s:
        scope = Scope.everything()
        if organisation_id is not None:
            org = await OrganisationRepository(s).get(organisation_id)
            scope = Scope.of(org) if org is not None else scope
        people, _ = await RespondentRepository(s).search(scope, phone_digits=number, limit=10)
        return [(p.id, p.name or "", p.category) for p in people]


# Who may change a person's survey, and how they keep out of each other's way:
# - a message: the runtime locks the identity it came from (`identity_key`), first thing;
# - linking a new identity to a person (`requests.bind_identity`): also the person's own
#   key, waited for, since nobody else can know the new identity's key yet;
# - work from outside (the expiry sweep): the person's key and every identity's key, each
#   without waiting (`try_lock_person`); someone busy is skipped, and as it never waits it
#   cannot close a deadlock with the two above.


def _person_key(respondent: Respondent) -> str:
    return f"person:{respondent.id}"


async def lock_person(s: AsyncSession, respondent: Respondent) -> None:
    """Wait for, and hold until the transaction ends, the person's own key."""
    await lock_respondent(s, _person_key(respondent))


async def try_lock_person(s: AsyncSession, respondent: Respondent) -> bool:
    """Take every key a turn of this person can hold, without waiting; False if one is
    held elsewhere (a message of theirs is being handled: leave them be). Keys taken
    before a refusal stay held until the transaction ends, which only delays a message
    of theirs by as long."""
    keys = [_person_key(respondent)]
    identities = await RespondentRepository(s).identities(respondent)
    keys += sorted({identity_key(i.channel, i.account, i.external_id) for i in identities})
    for key in keys:
        if not await try_lock_respondent(s, key):
            return False
    return True
