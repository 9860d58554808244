from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Id, UtcDateTime


class WeChatAccount(Base):
    """One WeChat Official Account, served at /wechat/<name>.

    `name` is part of every respondent identity and delivery key made through the account,
    so it never changes. Secrets stored here may be overridden from the environment
    (HUIFANG_WECHAT_<NAME>_TOKEN / _AES_KEY / _APP_SECRET), which is where production keeps
    them; a NULL `aes_key` means plaintext mode only, a NULL `app_secret` means no API calls.
    """

    __tablename__ = "wechat_accounts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[str] = mapped_column(String(64))
    # Encrypted at rest (storage.secrets) when HUIFANG_SECRET_KEY is set.
    token: Mapped[str] = mapped_column(Text)
    aes_key: Mapped[str | None] = mapped_column(Text)
    app_secret: Mapped[str | None] = mapped_column(Text)
    template_id: Mapped[str | None] = mapped_column(String(128))
    organisation_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("organisations.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        return f"WeChatAccount(name={self.name!r}, app_id={self.app_id!r})"
