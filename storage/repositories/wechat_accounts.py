"""WeChat Official Accounts and their QR scenes. Never commits: the caller owns the transaction."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WeChatAccount, WeChatScene

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
        if not app_id or not token:
            raise ValueError("a WeChat account needs an app id and a token")
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

    # --- scenes -----------------------------------------------------------------------

    async def scene(self, account_name: str, scene: str) -> WeChatScene | None:
        return await self.session.scalar(
            select(WeChatScene).where(
                WeChatScene.account_name == account_name, WeChatScene.scene == scene
            )
        )

    async def scenes(self, account_name: str) -> list[WeChatScene]:
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
        now: datetime,
    ) -> tuple[WeChatScene, bool]:
        """The scene, created unless it exists; (scene, created). Asking twice is harmless."""
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
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row, True

    async def set_ticket(self, scene: WeChatScene, *, ticket: str, url: str | None) -> None:
        scene.ticket = ticket
        scene.url = url
