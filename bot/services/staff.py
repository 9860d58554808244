"""Staff accounts: creating, listing, disabling, new passwords, logging in and sessions.

Each account belongs to one organisation and sees it and the organisations under it
(`StaffPrincipal.scope`). Logging in fails the same way, with the same message and about the
same work, whether the username exists, the password is wrong, the account is locked or
disabled: an attacker learns nothing about which accounts exist. Why it failed goes only
to the audit log (never the password).

Tokens (session cookies and bearer tokens) are random; only their SHA-256 is stored, and the
raw token is handed out once, by `start_session`.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Organisation, StaffSession, StaffUser
from storage.models.staff_user import ROLES
from storage.repositories.audit import AuditRepository
from storage.repositories.organisations import OrganisationRepository, Scope
from storage.repositories.staff import StaffRepository, StaffSessionRepository

Role = Literal["admin", "staff", "viewer"]
SessionKind = Literal["cookie", "bearer"]

MIN_PASSWORD = 10
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps one request from costing much
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
# Refused even when long enough: the first guesses of anyone trying passwords.
_COMMON = {"1234567890", "12345678910", "0123456789", "password123", "qwertyuiop", "1qaz2wsx3edc", "a123456789"}

def too_many_failures(wait_s: float) -> str:
    minutes = max(1, math.ceil(wait_s / 60))
    return (
        f"这个网络地址登录失败次数过多，请 {minutes} 分钟后再试。"
        f" Too many failed logins from this address: try again in {minutes} minutes."
    )


LOGIN_FAILED = (
    "用户名或密码错误，或多次失败后暂时锁定，请稍后再试。"
    " Wrong username or password, or locked for a while after repeated failures: try again later."
)

# A session's last_seen_at (and a cookie's sliding expiry) is written at most this often,
# so an active page does not cost a write per request.
_TOUCH_EVERY = timedelta(minutes=1)


class StaffError(ValueError):
    """Refused, with a message for people (Chinese, then English); nothing was changed."""


@dataclass(frozen=True, slots=True)
class StaffPolicy:
    """Lockout and session lifetimes; `Settings.staff_policy` builds it from HUIFANG_STAFF_*."""

    lockout_after: int = 5  # failures in a row before the first lock
    lockout_first: timedelta = timedelta(minutes=1)  # doubled by each failure after that
    lockout_max: timedelta = timedelta(hours=1)
    cookie_idle: timedelta = timedelta(hours=12)  # a browser unused this long logs out
    cookie_max: timedelta = timedelta(days=7)  # however active, log in again after this
    bearer_ttl: timedelta = timedelta(days=30)

    def lock_for(self, failures: int) -> timedelta | None:
        """How long the `failures`-th failure in a row locks the account, if it does."""
        if failures < self.lockout_after:
            return None
        doublings = min(failures - self.lockout_after, 20)  # 2**20 minutes is past any max
        return min(self.lockout_first * (2**doublings), self.lockout_max)


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """Who is calling, as routes receive it: the account, its organisation and scope."""

    id: int
    username: str
    name: str  # display name, or the username when there is none
    role: Role
    organisation_id: int
    organisation_code: str
    organisation_name: str
    organisation_path: str
    session_id: int
    session_kind: SessionKind
    csrf_token: str | None  # cookie sessions only: what every form must send back

    @property
    def scope(self) -> Scope:
        return Scope(self.organisation_path)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_handle(self) -> bool:
        """May change things (tickets, follow-ups); viewers only read."""
        return self.role in ("admin", "staff")

    @property
    def can_view(self) -> bool:
        return self.role in ROLES


@dataclass(frozen=True, slots=True)
class StaffRead:
    id: int
    username: str
    display_name: str | None
    role: str
    organisation_code: str
    organisation_name: str
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str  # the only time the raw token exists outside the client
    expires_at: datetime
    principal: StaffPrincipal


# --- passwords -------------------------------------------------------------------------

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile


async def hash_password(password: str) -> str:
    # ~50 ms of CPU: off the event loop, so the bot's webhooks keep answering meanwhile.
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@cache
def _dummy_hash() -> str:
    """A hash no password matches, verified for unknown usernames so that they cost the
    same time as known ones."""
    return _hasher.hash(secrets.token_urlsafe(32))


def check_password(password: str, *, username: str) -> None:
    """StaffError when `password` may not be used."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"密码至少 {MIN_PASSWORD} 个字符 a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise StaffError(f"密码最多 {MAX_PASSWORD} 个字符 a password has at most {MAX_PASSWORD} characters")
    if password.strip().lower() == username.strip().lower():
        raise StaffError("密码不能与用户名相同 the password must not be the username")
    if password.lower() in _COMMON or len(set(password)) < 4:
        raise StaffError("密码太容易猜到 the password is too easy to guess")


def normalise_username(username: str) -> str:
    return username.strip().lower()


def _check_username(username: str) -> str:
    username = normalise_username(username)
    if not _USERNAME.fullmatch(username):
        raise StaffError(
            "用户名为 2–64 个小写字母、数字或 . _ @ -，以字母或数字开头 "
            f"a username is 2–64 of a-z 0-9 . _ @ -, starting with a letter or digit: {username!r}"
        )
    return username


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise StaffError(f"未知角色 unknown role {role!r}: {' | '.join(ROLES)}")
    return role  # type: ignore[return-value]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- accounts --------------------------------------------------------------------------


async def create_user(
    s: AsyncSession,
    *,
    username: str,
    org_code: str,
    role: str,
    name: str | None = None,
    password: str,
    now: datetime,
    actor: str = "cli",
) -> StaffUser:
    username = _check_username(username)
    role = check_role(role)
    name = (name or "").strip() or None
    if name is not None and len(name) > 100:
        raise StaffError("姓名最多 100 个字 a name has at most 100 characters")
    check_password(password, username=username)
    organisation = await OrganisationRepository(s).by_code(org_code)
    if organisation is None:
        raise StaffError(f"未知的机构 unknown organisation: {org_code}")
    repo = StaffRepository(s)
    if await repo.by_username(username) is not None:
        raise StaffError(f"用户名已存在 username already exists: {username}")
    user = await repo.create(
        username=username,
        password_hash=await hash_password(password),
        role=role,
        organisation_id=organisation.id,
        display_name=name,
        at=now,
    )
    await _audit(s, actor, "staff_created", user, {"role": role, "organisation": org_code}, now)
    return user


async def list_users(s: AsyncSession, *, scope: Scope | None = None) -> list[StaffRead]:
    rows = await StaffRepository(s).list(scope or Scope.everything())
    return [
        StaffRead(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            organisation_code=o.code,
            organisation_name=o.name,
            disabled=u.disabled_at is not None,
            locked_until=u.locked_until,
            last_login_at=u.last_login_at,
        )
        for u, o in rows
    ]


async def _existing(s: AsyncSession, username: str) -> StaffUser:
    user = await StaffRepository(s).by_username(normalise_username(username))
    if user is None:
        raise StaffError(f"没有这个用户 no such user: {username}")
    return user


async def disable_user(s: AsyncSession, *, username: str, now: datetime, actor: str = "cli") -> StaffUser:
    """The account can no longer log in, and its open sessions end now."""
    user = await _existing(s, username)
    if user.disabled_at is None:
        await StaffRepository(s).disable(user, at=now)
    ended = await StaffSessionRepository(s).revoke_all_for_user(user.id, at=now)
    # The account's organisation owns the entry: its admins and those above see it.
    data = {"organisation": (await _organisation(s, user)).code, "sessions_ended": ended}
    await _audit(s, actor, "staff_disabled", user, data, now)
    return user


async def enable_user(s: AsyncSession, *, username: str, now: datetime, actor: str = "cli") -> StaffUser:
    """A disabled account may log in again, with the password it had (reset it if that was
    the reason). Enabling an active account changes nothing and records nothing."""
    user = await _existing(s, username)
    if user.disabled_at is not None:
        await StaffRepository(s).enable(user, at=now)
        data = {"organisation": (await _organisation(s, user)).code}
        await _audit(s, actor, "staff_enabled", user, data, now)
    return user


async def reset_password(
    s: AsyncSession, *, username: str, password: str, now: datetime, actor: str = "cli"
) -> StaffUser:
    """A new password; every session of the account ends (whoever knew the old one is out)
    and a lockout is lifted."""
    user = await _existing(s, username)
    check_password(password, username=user.username)
    await StaffRepository(s).set_password(user, await hash_password(password), at=now)
    ended = await StaffSessionRepository(s).revoke_all_for_user(user.id, at=now)
    data = {"organisation": (await _organisation(s, user)).code, "sessions_ended": ended}
    await _audit(s, actor, "password_reset", user, data, now)
    return user


async def change_own_password(
    s: AsyncSession,
    me: StaffPrincipal,
    *,
    current: str,
    password: str,
    password_again: str,
    now: datetime,
    policy: StaffPolicy = StaffPolicy(),
) -> int:
    """The caller's own new password, proved by the current one; how many of their other
    sessions ended (whoever knew the old password is out; this one stays). StaffError when
    refused, with nothing changed except this: a wrong current password counts as a failed
    login (a stolen session cannot guess it freely), and at the lockout every session of the
    account ends."""
    if password != password_again:
        raise StaffError("两次输入的新密码不一致 the two new passwords differ")
    user = await account_of(s, me)
    repo = StaffRepository(s)
    if len(current) > MAX_PASSWORD or not await _verify(user.password_hash, current):
        await _wrong_password(
            s, user, actor=f"staff:{user.username}", action="password_change_failed", data={}, policy=policy, now=now,
            end_sessions=True,
        )  # fmt: skip
        raise StaffError("当前密码不对 the current password is wrong")
    if password == current:
        raise StaffError("新密码不能与当前密码相同 the new password must differ from the current one")
    check_password(password, username=user.username)
    await repo.set_password(user, await hash_password(password), at=now)
    ended = await StaffSessionRepository(s).revoke_all_for_user(user.id, at=now, keep=me.session_id)
    data = {"organisation": me.organisation_code, "other_sessions_ended": ended}
    await _audit(s, f"staff:{user.username}", "password_changed", user, data, now)
    return ended


# --- logging in --------------------------------------------------------------------------


async def authenticate(
    s: AsyncSession,
    *,
    username: str,
    password: str,
    now: datetime,
    policy: StaffPolicy = StaffPolicy(),
    client: str | None = None,
) -> StaffUser | None:
    """The account these credentials open, or None: one answer (show LOGIN_FAILED) for
    every reason. None is not an exception on purpose: the caller commits either way, so
    failures count towards the lockout and reach the audit log.

    The password is verified with argon2 in every case, against a dummy hash when there is
    no such user, so the time taken does not tell whether the account exists.
    """
    repo = StaffRepository(s)
    wanted = normalise_username(username)[:64]
    user = await repo.by_username(wanted) if wanted else None
    matches = await _verify(user.password_hash if user is not None else _dummy_hash(), password[:MAX_PASSWORD])
    matches = matches and len(password) <= MAX_PASSWORD  # no password that long can be set
    seen = {"username": wanted, "client": client}
    if user is None:
        await _audit(s, "anonymous", "login_failed", None, {**seen, "reason": "unknown_user"}, now)
        return None
    if user.disabled_at is not None:
        await _audit(s, "anonymous", "login_failed", user, {**seen, "reason": "disabled"}, now)
        return None
    if user.locked_until is not None and user.locked_until > now:
        # Not counted: guesses during a lock cannot lengthen it, nor can they succeed.
        await _audit(s, "anonymous", "login_failed", user, {**seen, "reason": "locked"}, now)
        return None
    if not matches:
        await _wrong_password(
            s, user, actor="anonymous", action="login_failed", data={**seen, "reason": "wrong_password"},
            policy=policy, now=now,
        )  # fmt: skip
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        await repo.set_password(user, await hash_password(password), at=now)
    await repo.record_login(user, at=now)
    await _audit(s, f"staff:{user.username}", "login_succeeded", user, {"client": client}, now)
    return user


async def _wrong_password(
    s: AsyncSession, user: StaffUser, *, actor: str, action: str, data: dict[str, Any], policy: StaffPolicy,
    now: datetime, end_sessions: bool = False,
) -> None:  # fmt: skip
    """One more wrong password in a row, audited; at the policy's count the account is locked
    (and with `end_sessions` its sessions end: the guess came from inside one of them)."""
    failures = await StaffRepository(s).count_failure(user)
    await _audit(s, actor, action, user, {**data, "failures": failures}, now)
    lock = policy.lock_for(failures)
    if lock is None:
        return
    await StaffRepository(s).lock_until(user, now + lock, at=now)
    locked: dict[str, Any] = {"until": (now + lock).isoformat(), "failures": failures}
    if end_sessions:
        locked["sessions_ended"] = await StaffSessionRepository(s).revoke_all_for_user(user.id, at=now)
    await _audit(s, "system", "locked", user, locked, now)


async def start_session(
    s: AsyncSession,
    user: StaffUser,
    *,
    kind: SessionKind,
    now: datetime,
    policy: StaffPolicy = StaffPolicy(),
) -> NewSession:
    """A new login for `user`: a cookie session carries its own CSRF token."""
    token = secrets.token_urlsafe(32)
    ttl = policy.cookie_idle if kind == "cookie" else policy.bearer_ttl
    row = await StaffSessionRepository(s).create(
        user_id=user.id,
        token_hash=_token_hash(token),
        kind=kind,
        csrf_token=secrets.token_urlsafe(32) if kind == "cookie" else None,
        expires_at=now + ttl,
        at=now,
    )
    organisation = await _organisation(s, user)
    return NewSession(token=token, expires_at=row.expires_at, principal=_principal(user, organisation, row))


async def resolve_session(
    s: AsyncSession, token: str, *, now: datetime, policy: StaffPolicy = StaffPolicy()
) -> StaffPrincipal | None:
    """Who holds `token`, or None: unknown, revoked, expired, or the account disabled.

    A cookie session's expiry slides with use (`cookie_idle` after the last request) up to
    `cookie_max` after the login; a bearer token's does not move.
    """
    if not token or len(token) > 200:
        return None
    repo = StaffSessionRepository(s)
    found = await repo.live_by_token_hash(_token_hash(token), now=now)
    if found is None:
        return None
    row, user = found
    if user.disabled_at is not None:
        return None
    if row.last_seen_at is None or now - row.last_seen_at >= _TOUCH_EVERY:
        expires = row.expires_at
        if row.kind == "cookie":
            expires = min(now + policy.cookie_idle, row.created_at + policy.cookie_max)
        await repo.touch(row, expires_at=expires, at=now)
    return _principal(user, await _organisation(s, user), row)


async def end_session(s: AsyncSession, principal: StaffPrincipal, *, now: datetime) -> None:
    row = await s.get(StaffSession, principal.session_id)
    if row is not None:
        await StaffSessionRepository(s).revoke(row, at=now)
        actor = f"staff:{principal.username}"
        await _audit(s, actor, "logged_out", None, {"kind": row.kind}, now, subject_id=principal.id)


# --- helpers ----------------------------------------------------------------------------


async def _organisation(s: AsyncSession, user: StaffUser) -> Organisation:
    organisation = await OrganisationRepository(s).get(user.organisation_id)
    assert organisation is not None  # a foreign key
    return organisation


def _principal(user: StaffUser, organisation: Organisation, row: StaffSession) -> StaffPrincipal:
    return StaffPrincipal(
        id=user.id,
        username=user.username,
        name=user.display_name or user.username,
        role=user.role,  # type: ignore[arg-type]
        organisation_id=organisation.id,
        organisation_code=organisation.code,
        organisation_name=organisation.name,
        organisation_path=organisation.path,
        session_id=row.id,
        session_kind=row.kind,  # type: ignore[arg-type]
        csrf_token=row.csrf_token,
    )


async def _audit(
    s: AsyncSession,
    actor: str,
    action: str,
    user: StaffUser | None,
    data: dict,
    now: datetime,
    *,
    subject_id: int | None = None,
) -> None:
    await AuditRepository(s).record(
        actor=actor,
        action=action,
        subject_type="staff_user",
        subject_id=user.id if user is not None else subject_id,
        data=data,
        at=now,
    )


# --- who acts, for other services --------------------------------------------------------


async def account_of(s: AsyncSession, principal: StaffPrincipal) -> StaffUser:
    """The account behind a logged-in principal, loaded in this transaction: the ticket
    service checks role, scope and whether it is disabled on the row itself, not on what
    the session said when it was resolved."""
    user = await StaffRepository(s).get(principal.id)
    if user is None:  # deleted between resolving the session and now: no row is ever deleted
        raise StaffError(f"没有这个用户 no such user: {principal.username}")
    return user


async def handler_in_scope(s: AsyncSession, *, username: str, scope: Scope) -> StaffUser | None:
    """A colleague a ticket may be given to: an active admin or staff account of an
    organisation in `scope`; None for anyone else (unknown, a viewer, disabled, elsewhere),
    so a caller cannot tell which accounts exist outside their own scope."""
    user = await StaffRepository(s).by_username(normalise_username(username)[:64])
    if user is None or user.disabled_at is not None or user.role not in ("admin", "staff"):
        return None
    organisation = await OrganisationRepository(s).get(user.organisation_id)
    if organisation is None or not organisation.path.startswith(scope.path):
        return None
    return user
