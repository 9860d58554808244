"""Staff accounts and their logins (browser cookies, API bearer tokens).

Only hashes are stored: the password's argon2 hash and the session token's SHA-256. Which
rules a password must follow, and when an account locks, is the service's to decide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Organisation, StaffSession, StaffUser
from storage.repositories.organisations import Scope, in_scope


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        *,
        username: str,
        password_hash: str,
        role: str,
        organisation_id: int,
        display_name: str | None = None,
        email: str | None = None,
        at: datetime,
    ) -> StaffUser:
        user = StaffUser(
            username=username,
            password_hash=password_hash,
            role=role,
            organisation_id=organisation_id,
            display_name=display_name,
            email=email,
            notify_via="none",
            failed_logins=0,
            created_at=at,
            updated_at=at,
        )
        self.session.add(user)
        await self.session.flush()
        return user

    async def get(self, user_id: int) -> StaffUser | None:
        return await self.session.get(StaffUser, user_id)

    async def by_username(self, username: str) -> StaffUser | None:
        return await self.session.scalar(select(StaffUser).where(StaffUser.username == username))

    async def list(self, scope: Scope) -> list[tuple[StaffUser, Organisation]]:
        """The accounts of the organisations in `scope`, by organisation then username."""
        rows = await self.session.execute(
            select(StaffUser, Organisation)
            .join(Organisation, Organisation.id == StaffUser.organisation_id)
            .where(in_scope(StaffUser.organisation_id, scope))
            .order_by(Organisation.path, StaffUser.username)
        )
        return [(user, organisation) for user, organisation in rows]

    async def set_password(self, user: StaffUser, password_hash: str, *, at: datetime) -> None:
        """A new password also lifts a lockout: the operator who set it vouches for the person."""
        user.password_hash = password_hash
        user.failed_logins = 0
        user.locked_until = None
        user.updated_at = at
        await self.session.flush()

    async def set_role(self, user: StaffUser, *, role: str, organisation_id: int, at: datetime) -> None:
        user.role = role
        user.organisation_id = organisation_id
        user.updated_at = at
        await self.session.flush()

    async def disable(self, user: StaffUser, *, at: datetime) -> None:
        user.disabled_at = at
        user.updated_at = at
        await self.session.flush()

    async def enable(self, user: StaffUser, *, at: datetime) -> None:
        user.disabled_at = None
        user.updated_at = at
        await self.session.flush()

    async def count_failure(self, user: StaffUser) -> int:
        """Adds one failed login in the database itself and returns the new count, so two
        wrong passwords sent at once both count."""
        count = await self.session.scalar(
            update(StaffUser)
            .where(StaffUser.id == user.id)
            .values(failed_logins=StaffUser.failed_logins + 1)
            .returning(StaffUser.failed_logins)
        )
        await self.session.refresh(user, ["failed_logins"])
        return int(count or 0)

    async def lock_until(self, user: StaffUser, until: datetime, *, at: datetime) -> None:
        user.locked_until = until
        user.updated_at = at
        await self.session.flush()

    async def record_login(self, user: StaffUser, *, at: datetime) -> None:
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = at
        await self.session.flush()


class StaffSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        *,
        user_id: int,
        token_hash: str,
        kind: str,
        csrf_token: str | None,
        expires_at: datetime,
        at: datetime,
    ) -> StaffSession:
        row = StaffSession(
            user_id=user_id,
            token_hash=token_hash,
            kind=kind,
            csrf_token=csrf_token,
            created_at=at,
            expires_at=expires_at,
            last_seen_at=at,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def live_by_token_hash(self, token_hash: str, *, now: datetime) -> tuple[StaffSession, StaffUser] | None:
        """The session with this token and its user, unless revoked or expired."""
        row = await self.session.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(
                StaffSession.token_hash == token_hash,
                StaffSession.revoked_at.is_(None),
                StaffSession.expires_at > now,
            )
        )
        found = row.first()
        return None if found is None else (found[0], found[1])

    async def touch(self, row: StaffSession, *, expires_at: datetime, at: datetime) -> None:
        row.last_seen_at = at
        row.expires_at = expires_at
        await self.session.flush()

    async def revoke(self, row: StaffSession, *, at: datetime) -> None:
        if row.revoked_at is None:
            row.revoked_at = at
            await self.session.flush()

    async def revoke_all_for_user(self, user_id: int, *, at: datetime, keep: int | None = None) -> int:
        """End the account's sessions (all but `keep`); how many were open."""
        result = await self.session.execute(
            update(StaffSession)
            .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None), StaffSession.id != (keep or 0))
            .values(revoked_at=at)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
