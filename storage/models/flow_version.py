from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, Id, Json, UtcDateTime

if TYPE_CHECKING:
    from storage.models.flow import Flow


class FlowVersion(Base):
    """One published content of a flow. Immutable: sessions point at the exact version they
    were started with, so an edit after publishing would change surveys already under way."""

    __tablename__ = "flow_versions"
    __table_args__ = (
        UniqueConstraint("flow_id", "version"),
        # Not unique: republishing an older content (a revert) must become the newest version.
        Index(None, "flow_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    flow_id: Mapped[int] = mapped_column(Id, ForeignKey("flows.id"))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(Json)
    source: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    flow: Mapped[Flow] = relationship(back_populates="versions", lazy="raise")


class ImmutableFlowVersion(Exception):
    """Raised at flush when a stored flow version's columns were changed."""


@event.listens_for(FlowVersion, "before_update")
def _refuse_update(mapper: object, connection: object, target: FlowVersion) -> None:
    state = inspect(target)
    changed = [a.key for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes()]
    if not changed:
        return
    raise ImmutableFlowVersion(
        f"flow version {target.id} is published and cannot change ({', '.join(changed)}); "
        "publish a new version instead"
    )
