"""Repositories: built from an AsyncSession, they read and write but never commit — the
entry point that opened the transaction decides."""

from storage.repositories.answers import AnswerRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.flows import FlowRepository, content_hash
from storage.repositories.inbound import InboundRepository
from storage.repositories.organisations import OrganisationRepository
from storage.repositories.respondents import IdentityTaken, RespondentRepository
from storage.repositories.sessions import SessionRepository

__all__ = [
    "AnswerRepository",
    "AuditRepository",
    "FlowRepository",
    "IdentityTaken",
    "InboundRepository",
    "OrganisationRepository",
    "RespondentRepository",
    "SessionRepository",
    "content_hash",
]
