from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Id, UtcDateTime

if TYPE_CHECKING:
    from storage.models.flow_version import FlowVersion


class Flow(Base):
    """A survey by its stable code (the flow file's `id`); its content lives in versions."""

    __tablename__ = "flows"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    # None: shared with every organisation (the bundled defaults); otherwise the flow serves
    # this organisation and the ones under it, in place of a shared flow of its category.
    organisation_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("organisations.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    versions: Mapped[list[FlowVersion]] = relationship(back_populates="flow", lazy="raise")
