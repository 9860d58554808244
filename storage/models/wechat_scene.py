from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime


class WeChatScene(Base):
    """A parametric QR code of an account: scanning it (or subscribing through it) starts
    the `category` survey ("c:<category>") or binds the follower to `respondent_id`
    ("r:<id>"). `ticket` and `url` come from WeChat's qrcode/create; NULL until made."""

    __tablename__ = "wechat_scenes"
    __table_args__ = (UniqueConstraint("account_name", "scene"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_name: Mapped[str] = mapped_column(
        String(64), ForeignKey("wechat_accounts.name", ondelete="CASCADE")
    )
    scene: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    respondent_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("respondents.id", ondelete="CASCADE"), index=True
    )
    ticket: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
