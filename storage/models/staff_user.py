from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime

ROLES = ("admin", "staff", "viewer")
NOTIFY_VIA = ("none", "email", "wecom")


class StaffUser(Base):
    """A person of an office who uses the console: sees their organisation and the ones
    under it. `role`: admin (everything there), staff (handle tickets), viewer (read only)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    organisation_id: Mapped[int] = mapped_column(Id, ForeignKey("organisations.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    wecom_userid: Mapped[str | None] = mapped_column(String(64))
    notify_via: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    def __repr__(self) -> str:  # the hash stays out of logs
        return f"StaffUser(id={self.id!r}, username={self.username!r}, role={self.role!r})"
