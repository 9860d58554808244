"""Importing a respondent list from the console: upload, preview, confirm — 网页导入受访者.

The upload is kept in the database (`staged_uploads`), under a random token bound to the
login that sent it, for `KEEP`; any app process can show its preview or confirm it. The
preview reads the file and decides row by row (bot.services.respondent_import.preview)
without changing anything; confirming reads and decides again in the transaction that
stores it, so what is stored is what the data says at that moment, and a file with wrong
rows is stored only when the admin chose to skip them. The import is in the audit log
with who and how many, in the same transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.catalog import FlowCache
from bot.services.respondent_import import (
    MAX_BYTES,
    ApplyResult,
    ImportFileError,
    ImportPlan,
    apply,
    preview,
    read_table_bytes,
)
from bot.services.staff import StaffPrincipal
from storage.repositories.organisations import OrganisationRepository
from storage.repositories.staged_uploads import StagedUploadRepository

PURPOSE = "respondents"
KEEP = timedelta(minutes=30)
MAX_FILENAME = 200

EXPIRED = "上传已过期或不存在，请重新上传 the upload has expired or does not exist: upload the file again"
HAS_ERRORS = (
    "有错误的行，未导入任何数据：请修改文件后重新上传，或选择跳过错误行 "
    "some rows are wrong, nothing was imported: fix the file and upload it again, or choose to skip the wrong rows"
)

__all__ = [
    "HAS_ERRORS", "MAX_BYTES", "ImportFileError", "StagedPreview", "confirm_upload", "preview_upload", "stage_upload",
]


@dataclass(frozen=True, slots=True)
class StagedPreview:
    token: str
    filename: str
    organisation: str  # the code rows naming none go to
    encoding: str | None
    ignored_columns: tuple[str, ...]
    plan: ImportPlan
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def stage_upload(s: AsyncSession, me: StaffPrincipal, *, filename: str, content: bytes, now: datetime) -> str:
    """Keep `content` for this login; the token to preview and confirm it. ImportFileError
    when the file is empty or too large (nothing kept)."""
    if not content:
        raise ImportFileError("文件是空的 the file is empty")
    if len(content) > MAX_BYTES:
        raise ImportFileError(f"文件太大 file too large: 上限 the limit is {MAX_BYTES // 1024 // 1024} MB")
    token = secrets.token_urlsafe(32)
    await StagedUploadRepository(s).put(
        token_hash=_hash(token), staff_session_id=me.session_id, purpose=PURPOSE,
        filename=(filename or "upload")[:MAX_FILENAME], content=content, now=now, expires_at=now + KEEP,
    )  # fmt: skip
    return token


async def _organisation(s: AsyncSession, me: StaffPrincipal, code: str | None) -> str:
    """The organisation for rows naming none: the admin's own unless they chose one below it."""
    if not code or code == me.organisation_code:
        return me.organisation_code
    found = await OrganisationRepository(s).by_code(code)
    if found is None or not found.path.startswith(me.scope.path):
        raise ImportFileError(f"未知的机构或不在您的管理范围 unknown organisation, or outside your scope: {code}")
    return found.code


async def preview_upload(
    s: AsyncSession, me: StaffPrincipal, token: str, *, organisation: str | None, flows: FlowCache, now: datetime
) -> StagedPreview:
    """What confirming would do; changes nothing. ImportFileError when the upload is gone
    or the file cannot be read."""
    staged = await StagedUploadRepository(s).live(
        token_hash=_hash(token), staff_session_id=me.session_id, purpose=PURPOSE, now=now
    )
    if staged is None:
        raise ImportFileError(EXPIRED)
    org = await _organisation(s, me, organisation)
    table = read_table_bytes(staged.content)
    plan = await preview(s, table.rows, flows=flows, scope=me.scope, default_organisation=org)
    return StagedPreview(token, staged.filename, org, table.encoding, table.ignored, plan, staged.expires_at)


async def confirm_upload(
    s: AsyncSession,
    me: StaffPrincipal,
    token: str,
    *,
    organisation: str | None,
    skip_errors: bool,
    flows: FlowCache,
    now: datetime,
) -> tuple[StagedPreview, ApplyResult]:
    """Decide again and store, in the caller's transaction; the upload is then dropped.
    ImportFileError (nothing stored) when it is gone, unreadable, or has wrong rows that
    were not to be skipped."""
    repo = StagedUploadRepository(s)
    staged = await repo.live(
        token_hash=_hash(token), staff_session_id=me.session_id, purpose=PURPOSE, now=now, lock=True
    )
    if staged is None:
        raise ImportFileError(EXPIRED)
    seen = await preview_upload(s, me, token, organisation=organisation, flows=flows, now=now)
    if seen.plan.errors and not skip_errors:
        raise ImportFileError(HAS_ERRORS)
    result = await apply(s, seen.plan, now=now, actor=f"staff:{me.username}", organisation=seen.organisation)
    await repo.remove(staged)
    return seen, result
