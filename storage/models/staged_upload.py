from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime


class StagedUpload(Base):
    """A file a staff member uploaded to preview, kept until they confirm it or it expires.

    In the database rather than on one process's disk, so the confirming request may reach
    any app process. Only the random token's SHA-256 is stored, and the row belongs to the
    login that uploaded it: another login cannot confirm it even with the token.
    """

    __tablename__ = "staged_uploads"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_session_id: Mapped[int] = mapped_column(Id, ForeignKey("staff_sessions.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
