from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LoginIn(BaseModel):
    # Bounds only: what is wrong with the values is the uniform login failure's to say.
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class OrganisationRead(BaseModel):
    code: str
    name: str
    kind: str
    parent_code: str | None
    depth: int  # below the caller's own organisation, which is 0


class StaffUserRead(BaseModel):
    id: int
    username: str
    name: str
    role: str
    organisation: str  # its code
    can_handle: bool
    is_admin: bool


class TokenRead(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: StaffUserRead


class MeRead(BaseModel):
    user: StaffUserRead
    scope: list[OrganisationRead]  # the caller's organisation first, then those under it
