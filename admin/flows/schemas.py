"""Bodies and answers of /api/v1/flows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

# A little over the loader's 512 KiB (counted in bytes there), so the loader says why.
MAX_TEXT = 600_000
FILE_NAME = r"^[\w.-]{1,100}$"


class FlowErrorRead(BaseModel):
    line: int | None
    path: str
    message: str
    zh: str = Field(default="", description="the message in Chinese")


class DraftIn(BaseModel):
    text: str = Field(max_length=MAX_TEXT, description="the flow file, YAML or JSON")
    name: str = Field(default="draft.yaml", pattern=FILE_NAME, description="names the draft in errors")


class FlowBrief(BaseModel):
    id: str
    category: str
    questions: int


class ValidationRead(BaseModel):
    ok: bool
    errors: list[FlowErrorRead]
    flow: FlowBrief | None


class PublishIn(BaseModel):
    text: str = Field(max_length=MAX_TEXT)
    name: str | None = Field(default=None, pattern=FILE_NAME, description="default: <id>.yaml")
    organisation: str | None = Field(default=None, max_length=64, description="code; default: your own")
    shared: bool = Field(default=False, description="for every organisation (admins of a root organisation only)")


class Published(BaseModel):
    id: str
    version: int
    created: bool
    organisation: str | None


class FlowRead(BaseModel):
    id: str
    category: str
    kind: str
    title: str
    organisation: str | None = Field(description="code of the owner; null: shared")
    version: int
    published_at: datetime
    open_sessions: int


class VersionRead(BaseModel):
    version: int
    created_at: datetime
    content_hash: str
    source_name: str


class RollbackIn(BaseModel):
    version: int = Field(ge=1)


class CopyIn(BaseModel):
    new_id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    organisation: str | None = Field(default=None, max_length=64, description="code; default: your own")


class DiagramIn(BaseModel):
    text: str = Field(max_length=MAX_TEXT)


class SimulateIn(BaseModel):
    text: str = Field(max_length=MAX_TEXT, description="the draft")
    inputs: list[Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=list, max_length=300, description="what the tester typed, in order"
    )
    lang: str = Field(default="zh", pattern="^(zh|en)$")
