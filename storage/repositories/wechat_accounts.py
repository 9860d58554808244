"""WeChat Official Accounts and their QR scenes. Never commits: the caller owns the transaction."""

from __future__ import annotations

import builtins
import re
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, SurveySession, WeChatAccount, WeChatScene
from storage.models.survey_session import OPEN_STATUSES

# The name is a URL path segment (/wechat/<name>), part of delivery keys and identities,
# and (upper-cased) of environment variable names: keep it plain.
ACCOUNT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_SCENE = 64  # WeChat's limit for scene_str


class AccountExists(Exception):
    """An account of that name is already stored."""


class WeChatAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str) -> WeChatAccount | None:
        return await self.session.scalar(select(WeChatAccount).where(WeChatAccount.name == name))

    async def list(self) -> list[WeChatAccount]:
        rows = await self.session.scalars(select(WeChatAccount).order_by(WeChatAccount.name))
        return list(rows)

    async def create(
        self,
        *,
        name: str,
        app_id: str,
        token: str,
        aes_key: str | None = None,
        app_secret: str | None = None,
        template_id: str | None = None,
        organisation_id: int | None = None,
        now: datetime,
    ) -> WeChatAccount:
        if not ACCOUNT_NAME.fullmatch(name):
            raise ValueError(
                f"account name {name!r}: use 1–64 lower-case letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        # An empty token is one kept in the environment (HUIFANG_WECHAT_<NAME>_TOKEN).
        if not app_id:
            raise ValueError("a WeChat account needs an app id")
        if await self.get(name) is not None:
            raise AccountExists(f"a WeChat account named {name!r} already exists")
        account = WeChatAccount(
            name=name,
            app_id=app_id,
            token=token,
            aes_key=aes_key or None,
            app_secret=app_secret or None,
            template_id=template_id or None,
            organisation_id=organisation_id,
            created_at=now,
            updated_at=now,
        )
        self.session.add(account)
        await self.session.flush()
        return account

    async def update(self, account: WeChatAccount, *, now: datetime, **values: str | int | None) -> None:
        """Set the given columns (secrets already in their stored form); the name never changes."""
        allowed = {"app_id", "token", "aes_key", "app_secret", "template_id", "organisation_id"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"not an account column that may change: {', '.join(sorted(unknown))}")
        for column, value in values.items():
            setattr(account, column, value)
        account.updated_at = now
        await self.session.flush()

    async def respondents_in_open_sessions(self, name: str) -> int:
        """How many respondents reached through the account have an invited or active survey."""
        found = await self.session.scalar(
            select(func.count(func.distinct(SurveySession.respondent_id)))
            .join(ChannelIdentity, ChannelIdentity.respondent_id == SurveySession.respondent_id)
            .where(
                ChannelIdentity.channel == "wechat",
                ChannelIdentity.account == name,
                SurveySession.status.in_(OPEN_STATUSES),
            )
        )
        return int(found or 0)

    async def remove(self, account: WeChatAccount) -> int:
        """Delete the account and its scenes; the number of scenes deleted. Respondents, their
        identities and answers stay."""
        # Explicitly, not through ON DELETE CASCADE: SQLite enforces it only with
        # foreign_keys on, and the count is wanted anyway.
        gone = await self.session.execute(
            delete(WeChatScene).where(WeChatScene.account_name == account.name)
        )
        await self.session.delete(account)
        await self.session.flush()
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]  # an UPDATE/DELETE gives a CursorResult

    # --- scenes -----------------------------------------------------------------------

    async def scene(self, account_name: str, scene: str) -> WeChatScene | None:
        return await self.session.scalar(
            select(WeChatScene).where(
                WeChatScene.account_name == account_name, WeChatScene.scene == scene
            )
        )

    async def scenes(self, account_name: str) -> builtins.list[WeChatScene]:  # `list` is a method here
        rows = await self.session.scalars(
            select(WeChatScene)
            .where(WeChatScene.account_name == account_name)
            .order_by(WeChatScene.id)
        )
        return list(rows)

    async def add_scene(
        self,
        *,
        account_name: str,
        scene: str,
        category: str | None,
        respondent_id: int | None = None,
        ticket: str | None = None,
        url: str | None = None,
        now: datetime,
    ) -> tuple[WeChatScene, bool]:
        """The scene, created unless it exists; (scene, created). Asking twice is harmless.
        An existing scene keeps what it has (its ticket too)."""
        if not scene or len(scene) > MAX_SCENE:
            raise ValueError(f"a scene is 1–{MAX_SCENE} characters, got {len(scene)}")
        existing = await self.scene(account_name, scene)
        if existing is not None:
            return existing, False
        row = WeChatScene(
            account_name=account_name,
            scene=scene,
            category=category,
            respondent_id=respondent_id,
            ticket=ticket,
            url=url,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row, True

    async def set_ticket(self, scene: WeChatScene, *, ticket: str, url: str | None) -> None:
        scene.ticket = ticket
        scene.url = url
