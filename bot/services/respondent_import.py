"""Importing respondent lists exported from Excel (CSV or XLSX) — 导入受访者名单.

Two steps, so an admin sees what would happen before anything changes:

- `read_table(path)` turns the file into numbered rows (row 1 is the header, as Excel shows it);
- `preview(s, rows, …)` decides, row by row, who is new, who is updated, who is kept out
  (opted out: never resurrected) and which rows are wrong and why; it changes nothing;
- `apply(s, plan)` stores the plan, in the caller's transaction: all or nothing.

The preview reads everything it needs up front (organisations, a phone → id map, the openids
of the accounts in play) and resolves categories once per distinct spelling, so 100,000 rows
cost a handful of queries, not 100,000 (bench/import_respondents.py).

Matching an existing person (by phone, or by WeChat openid on the account) updates the fields
the file fills (name, category, organisation, phone; tags are added to theirs) and links a
new openid; an empty cell never erases anything. Opted-out people are reported as kept out and
left exactly as they are.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.catalog import Catalog, FlowCache
from storage.models import ChannelIdentity, Organisation, Respondent, WeChatAccount
from storage.name_keys import pinyin_key
from storage.repositories.audit import AuditRepository
from storage.repositories.flows import FlowRepository
from storage.repositories.organisations import Scope

MAX_BYTES = 20 * 1024 * 1024  # 20 MB
MAX_ROWS = 200_000  # data rows, the header not counted
MAX_TAGS = 20
MAX_TAG_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_OPENID_LENGTH = 128
_CHUNK = 2_000  # rows per INSERT/UPDATE batch: large enough to be fast, small enough for PostgreSQL's bind limit

# Header spellings → field. Compared after lower-casing and dropping spaces, '_' and '-'.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "name", "fullname"),
    "phone": ("手机", "手机号", "手机号码", "电话", "联系电话", "电话号码", "phone", "mobile", "tel", "telephone"),
    "category": ("类别", "类型", "分类", "受访者类别", "category"),
    "organisation": ("机构", "机构代码", "所属机构", "organisation", "organization", "org", "orgcode"),
    "tags": ("标签", "tags", "tag"),
    "openid": ("openid", "微信openid", "wechatopenid"),
}
_HEADER_FIELD = {re.sub(r"[\s_\-]", "", s.lower()): f for f, spellings in HEADERS.items() for s in spellings}
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_MOBILE = re.compile(r"1[3-9]\d{9}")
# A landline with its area code: 0 + 2–3 digit area code + 7–8 digit number.
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")
_PHONE_JUNK = re.compile(r"[\s\-()（）—.]")
_TAG_SPLIT = re.compile(r"[,，;；、|]")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (too large, not CSV/XLSX, no usable header); a
    message for people. Nothing was changed."""


@dataclass(frozen=True, slots=True)
class SourceRow:
    number: int  # as Excel shows it: the header is row 1
    cells: dict[str, str]  # field → text, stripped; empty cells left out
    problem: str | None = None  # a reason the row cannot be read (a formula, extra cells)


@dataclass(frozen=True, slots=True)
class SourceTable:
    columns: dict[str, str]  # field → header as written
    ignored: tuple[str, ...]  # headers that name no field
    rows: Iterator[SourceRow]
    encoding: str | None = None  # CSV only: "utf-8" or "gb18030"


@dataclass(frozen=True, slots=True)
class NewRespondent:
    row: int
    name: str | None
    phone: str | None
    category: str
    organisation_id: int
    tags: list[str] | None
    openid: str | None
    account: str | None


@dataclass(frozen=True, slots=True)
class RespondentUpdate:
    row: int
    respondent_id: int
    changes: dict[str, Any]  # column → new value; empty when only an openid is linked
    openid: str | None = None  # to link, on `account`
    account: str | None = None


@dataclass
class ImportPlan:
    new: list[NewRespondent] = field(default_factory=list)
    updated: list[RespondentUpdate] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # rows matching someone, nothing new in them
    kept_out: list[tuple[int, str]] = field(default_factory=list)  # (row, reason): opted out
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    ignored_columns: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return len(self.new) + len(self.updated) + len(self.unchanged) + len(self.kept_out) + len(self.errors)


@dataclass(frozen=True, slots=True)
class ApplyResult:
    created: int
    updated: int
    identities: int


# ---------------------------------------------------------------- reading the file


def read_table(path: Path, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> SourceTable:
    """The rows of a CSV or XLSX file (by content, not by name); ImportFileError when it
    cannot be read at all."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportFileError(
            f"文件太大 file too large: {size / 1024 / 1024:.1f} MB, 上限 the limit is {max_bytes / 1024 / 1024:.0f} MB"
        )
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, max_rows)
    return read_csv_bytes(path.read_bytes(), max_rows=max_rows)


def read_table_bytes(data: bytes, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> SourceTable:
    """As `read_table`, for a file held in memory (an upload)."""
    if len(data) > max_bytes:
        raise ImportFileError(
            f"文件太大 file too large: {len(data) / 1024 / 1024:.1f} MB, "
            f"上限 the limit is {max_bytes / 1024 / 1024:.0f} MB"
        )
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(io.BytesIO(data), max_rows)
    return read_csv_bytes(data, max_rows=max_rows)


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding). UTF-8 (with or without BOM) first, strictly; else GB18030, a superset
    of GBK, which is what Excel on a Chinese Windows writes for “CSV”. A GBK file that happens
    to be valid UTF-8 is practically impossible for Chinese text, so no guessing library is
    needed."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"无法识别文件编码 cannot read the file: neither UTF-8 nor GBK/GB18030 (byte {exc.start}); "
            "请另存为 UTF-8 CSV 或 XLSX save it as UTF-8 CSV or XLSX"
        ) from None


def read_csv_bytes(data: bytes, *, max_rows: int = MAX_ROWS) -> SourceTable:
    if b"\x00" in data[:4096]:
        raise ImportFileError("不是 CSV 或 XLSX 文件 not a CSV or XLSX file (binary content)")
    text, encoding = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(f"第1行 row 1: CSV 格式错误 malformed CSV: {exc}") from None
    if header is None:
        raise ImportFileError("文件是空的 the file is empty")
    columns, ignored, positions = _header(header)

    def rows() -> Iterator[SourceRow]:
        count = 0
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # The reader cannot go on past a broken quote: the row says so and reading stops.
                reason = f"CSV 格式错误 malformed CSV: {exc}; 之后的行未读取 rows after it not read"
                yield SourceRow(reader.line_num, {}, reason)
                return
            number = reader.line_num
            if not any(v.strip() for v in values):
                continue
            count += 1
            if count > max_rows:
                yield SourceRow(number, {}, _too_many(max_rows))
                return
            yield _row(number, values, positions, formula=lambda v: v.startswith("="))

    return SourceTable(columns, ignored, rows(), encoding)


# What a damaged sheet raises while streamed: XML syntax (ParseError and lxml's are
# SyntaxErrors; defusedxml's refusals are ValueErrors), a cut-off zip member.
_BROKEN_SHEET = (SyntaxError, ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile)


def _unreadable(exc: BaseException) -> ImportFileError:
    return ImportFileError(f"无法读取 XLSX 文件 cannot read the XLSX file: {type(exc).__name__}")


def _read_xlsx(path: Path | IO[bytes], max_rows: int) -> SourceTable:
    import openpyxl  # only here: a CSV import need not pay for loading it

    try:
        # read_only streams the sheet; data_only=False keeps formulas visible as formulas.
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(f"无法读取 XLSX 文件 cannot read the XLSX file: {exc}") from None
    sheet = book.worksheets[0]
    cells = sheet.iter_rows()
    try:
        header_cells = next(cells, None)
    except _BROKEN_SHEET as exc:
        book.close()
        raise _unreadable(exc) from None
    if header_cells is None:
        book.close()
        raise ImportFileError("工作表是空的 the first sheet is empty")
    columns, ignored, positions = _header([_text(c.value) for c in header_cells])

    def rows() -> Iterator[SourceRow]:
        count = 0
        try:
            for number, row in enumerate(cells, start=2):
                values: list[str] = []
                formulas: set[int] = set()
                for i, c in enumerate(row):
                    if c.data_type == "f":
                        formulas.add(i)
                    values.append(_text(c.value))
                if not any(values):
                    continue
                count += 1
                if count > max_rows:
                    yield SourceRow(number, {}, _too_many(max_rows))
                    return
                if formulas & set(positions.values()):
                    letters = ", ".join(_column_letter(i) for i in sorted(formulas & set(positions.values())))
                    yield SourceRow(number, {}, _formula(letters))
                    continue
                yield _row(number, values, positions, formula=None)
        except _BROKEN_SHEET as exc:
            # The sheet's XML is read as the rows are: a cut-off or tampered file fails here.
            raise _unreadable(exc) from None
        finally:
            book.close()

    return SourceTable(columns, ignored, rows())


def _too_many(limit: int) -> str:
    return (
        f"行数超过上限 more than {limit:,} rows: 请分成几个文件 split the file; 之后的行未读取 rows after it not read"
    )


def _formula(columns: str) -> str:
    # Formulas are refused rather than evaluated: a cached result may be stale or absent.
    return f"含公式 formula in column {columns}: 请粘贴为数值 paste values instead"


def _column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        letters = _LETTERS[rest] + letters
    return letters


def _text(value: object) -> str:
    """A cell as text; Excel keeps long numbers (phones) as numbers, floats even."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(header: Sequence[str]) -> tuple[dict[str, str], tuple[str, ...], dict[str, int]]:
    columns: dict[str, str] = {}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for i, raw in enumerate(header):
        title = raw.strip().lstrip("\ufeff")
        if not title:
            continue
        name = _HEADER_FIELD.get(re.sub(r"[\s_\-]", "", title.lower()))
        if name is None:
            ignored.append(title)
        elif name in columns:
            raise ImportFileError(f"第1行 row 1: 列重复 two columns mean {name}: {columns[name]!r} and {title!r}")
        else:
            columns[name], positions[name] = title, i
    if "phone" not in columns and "openid" not in columns:
        known = "; ".join(f"{f}: {'/'.join(s)}" for f, s in HEADERS.items())
        raise ImportFileError(
            "第1行 row 1: 需要手机或 openid 列 a phone or openid column is needed to reach people "
            f"(表头 headers found: {', '.join(header) or 'none'}; 可用 known: {known})"
        )
    return columns, tuple(ignored), positions


def _row(number: int, values: Sequence[str], positions: dict[str, int], formula: Any) -> SourceRow:
    cells: dict[str, str] = {}
    for name, i in positions.items():
        if i < len(values) and (v := values[i].strip()):
            if formula is not None and formula(v):
                return SourceRow(number, {}, _formula(_column_letter(i)))
            cells[name] = v
    return SourceRow(number, cells)


# ---------------------------------------------------------------- deciding


def normalise_phone(raw: str) -> str | None:
    """Digits only: a mainland mobile (1[3-9] + 9 digits) or a landline with area code
    (0 + 9–11 digits); None for anything else. '+86', '0086', spaces, dashes, brackets go."""
    digits = _PHONE_JUNK.sub("", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return digits
    return None


def parse_tags(raw: str | None) -> list[str]:
    seen: dict[str, None] = {}
    for part in _TAG_SPLIT.split(raw or ""):
        if tag := part.strip():
            seen.setdefault(tag, None)
    return list(seen)


@dataclass(frozen=True, slots=True)
class _Resolved:
    row: int
    name: str | None
    phone: str | None
    category: str
    org: Organisation
    org_given: bool
    tags: list[str]
    openid: str | None
    account: str | None
    matches: set[int]


@dataclass(slots=True)
class _Existing:
    id: int
    name: str | None
    phone: str | None
    category: str
    organisation_id: int | None
    tags: list[str] | None
    opted_out: bool


async def preview(
    s: AsyncSession,
    rows: Iterable[SourceRow],
    *,
    flows: FlowCache,
    scope: Scope,
    default_organisation: str | None = None,
    account: str | None = None,
) -> ImportPlan:
    """What importing `rows` would do; changes nothing.

    `scope`: the importing admin's (an organisation outside it is refused, as if unknown, so
    staff learn nothing of others' organisations; existing people outside it are not
    touched). `default_organisation`: the code for rows that name none. `account`: the WeChat
    account of the openids (default: the organisation's own, or the nearest one above it).
    """
    plan = ImportPlan()
    organisations = {o.code: o for o in await s.scalars(select(Organisation))}
    by_id = {o.id: o for o in organisations.values()}
    by_name: dict[str, Organisation | None] = {}
    for o in organisations.values():
        # A name two organisations share names neither.
        by_name[o.name] = None if o.name in by_name else o

    def visible(o: Organisation | None) -> bool:
        return o is not None and (scope.path == "/" or o.path.startswith(scope.path))

    accounts = {a.name: a.organisation_id for a in await s.scalars(select(WeChatAccount))}
    if account is not None and account not in accounts:
        raise ImportFileError(f"未知的公众号 unknown WeChat account: {account}")
    account_of_org: dict[int, str] = {}
    for account_name, org_id in sorted(accounts.items()):
        if org_id is not None:
            account_of_org.setdefault(org_id, account_name)

    def account_for(o: Organisation) -> str | None:
        if account is not None:
            return account
        for part in reversed(o.path.strip("/").split("/")):
            if part and (found := account_of_org.get(int(part))) is not None:
                return found
        return None

    default_org = None
    if default_organisation is not None:
        default_org = organisations.get(default_organisation)
        if not visible(default_org):
            raise ImportFileError(f"未知的机构 unknown organisation: {default_organisation}")

    # Everyone with a phone, once; phones stored by other paths may be spelled differently.
    phone_ids: dict[str, int] = {}
    for holder_id, stored in await s.execute(
        select(Respondent.id, Respondent.phone).where(Respondent.phone.is_not(None)).order_by(Respondent.id)
    ):
        if stored:
            phone_ids.setdefault(normalise_phone(stored) or stored, holder_id)
    openid_ids: dict[tuple[str, str], int] = {}  # (account, openid) → respondent, loaded per account as met

    loaded_accounts: set[str] = set()

    async def openids_of(acct: str) -> None:
        if acct in loaded_accounts:
            return
        loaded_accounts.add(acct)
        for rid, ext in await s.execute(
            select(ChannelIdentity.respondent_id, ChannelIdentity.external_id).where(
                ChannelIdentity.channel == "wechat", ChannelIdentity.account == acct
            )
        ):
            openid_ids[(acct, ext)] = rid

    catalogs: dict[int, Catalog] = {}
    categories: dict[tuple[int, str], str | None] = {}

    async def category_of(org_id: int, reference: str) -> str | None:
        key = (org_id, reference)
        if key not in categories:
            if org_id not in catalogs:
                catalogs[org_id] = await flows.catalog(FlowRepository(s), org_id)
            found = catalogs[org_id].find(reference)
            categories[key] = found[1].category.code if found is not None else None
        return categories[key]

    seen_phone: dict[str, int] = {}  # phone → first row with it
    seen_openid: dict[tuple[str, str], int] = {}
    # Resolved rows waiting for the existing people they match (loaded in one pass below).
    pending: list[_Resolved] = []

    for source in rows:
        n = source.number
        if source.problem is not None:
            plan.errors.append((n, source.problem))
            continue
        c = source.cells
        problems: list[str] = []
        name = c.get("name")
        if name is not None and len(name) > MAX_NAME_LENGTH:
            problems.append(f"姓名太长 name longer than {MAX_NAME_LENGTH} characters")
        phone = None
        if "phone" in c:
            phone = normalise_phone(c["phone"])
            if phone is None:
                problems.append(
                    f"手机号无效 invalid phone {c['phone']!r}: 需要11位手机号或带区号的固定电话 "
                    "a mainland mobile (11 digits) or a landline with area code"
                )
        openid = c.get("openid")
        if openid is not None and (len(openid) > MAX_OPENID_LENGTH or not re.fullmatch(r"[A-Za-z0-9_\-]+", openid)):
            problems.append(f"openid 无效 invalid openid {openid!r}")
            openid = None
        if phone is None and openid is None and "phone" not in c and "openid" not in c:
            problems.append("缺少手机和 openid no phone and no openid: 无法联系 this person cannot be reached")
        org = default_org
        if "organisation" in c:
            ref = c["organisation"]
            found_org = organisations.get(ref) or by_name.get(ref)
            org = found_org if visible(found_org) else None
            if org is None:
                problems.append(f"未知的机构或不在您的管理范围 unknown organisation, or outside your scope: {ref}")
        elif org is None:
            problems.append("缺少机构 no organisation: 填写机构代码或使用 --org fill in the code or use --org")
        acct = None
        if openid is not None and org is not None:
            acct = account_for(org)
            if acct is None:
                problems.append(
                    f"机构 {org.code} 没有公众号 organisation {org.code} has no WeChat account for openids: "
                    "使用 --account use --account NAME"
                )
        tags = parse_tags(c.get("tags"))
        if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in tags):
            problems.append(f"标签过多或过长 at most {MAX_TAGS} tags of at most {MAX_TAG_LENGTH} characters")
        category = None
        if org is not None:
            if "category" not in c:
                problems.append("缺少类别 no category")
            else:
                category = await category_of(org.id, c["category"])
                if category is None:
                    valid = ", ".join(f"{f.category.name.zh} {f.category.code}" for _, f in catalogs[org.id].flows)
                    problems.append(f"未知的类别 unknown category {c['category']!r}: 可用 valid: {valid}")
        if phone is not None and (first := seen_phone.get(phone)) is not None:
            problems.append(f"与第{first}行手机号重复 same phone as row {first}")
        if openid is not None and acct is not None:
            await openids_of(acct)
            if (first := seen_openid.get((acct, openid))) is not None:
                problems.append(f"与第{first}行 openid 重复 same openid as row {first}")
        if problems:
            plan.errors.append((n, "; ".join(problems)))
            continue
        # Only a row without errors claims its phone and openid: the later duplicate is the error.
        if phone is not None:
            seen_phone[phone] = n
        if openid is not None and acct is not None:
            seen_openid[(acct, openid)] = n
        assert org is not None and category is not None  # no problems means both were found
        matches: set[int] = set()
        if phone is not None and (match := phone_ids.get(phone)) is not None:
            matches.add(match)
        if openid is not None and acct is not None and (match := openid_ids.get((acct, openid))) is not None:
            matches.add(match)
        pending.append(_Resolved(n, name, phone, category, org, "organisation" in c, tags, openid, acct, matches))

    existing = await _load_existing(s, {rid for r in pending for rid in r.matches})
    has_openid = {(rid, a) for (a, _), rid in openid_ids.items()}
    for r in pending:
        n, matches = r.row, r.matches
        if not matches:
            plan.new.append(
                NewRespondent(n, r.name, r.phone, r.category, r.org.id, r.tags or None, r.openid, r.account)
            )
            continue
        if len(matches) > 1:
            plan.errors.append((n, f"手机号和 openid 属于不同的人 the phone and the openid belong to different people "
                                   f"(respondents {', '.join(str(m) for m in sorted(matches))})"))
            continue
        person = existing[next(iter(matches))]
        holder = by_id.get(person.organisation_id) if person.organisation_id is not None else None
        if scope.path != "/" and not visible(holder):
            plan.errors.append((n, "此人已登记在您的管理范围之外 this person is registered outside your scope"))
            continue
        if person.opted_out:
            plan.kept_out.append((n, f"已退订，不再联系 opted out: respondent {person.id} kept out, not changed"))
            continue
        changes: dict[str, Any] = {}
        if r.name is not None and r.name != person.name:
            changes["name"] = r.name
        if r.phone is not None and r.phone != person.phone:
            changes["phone"] = r.phone
        if r.category != person.category:
            changes["category"] = r.category
        # Only a row naming an organisation moves someone: --org is a default for new people.
        if r.org_given and r.org.id != person.organisation_id:
            changes["organisation_id"] = r.org.id
        merged = list(dict.fromkeys([*(person.tags or []), *r.tags]))
        if merged != (person.tags or []):
            changes["tags"] = merged
        link = r.openid is not None and r.account is not None and (person.id, r.account) not in has_openid
        if changes or link:
            plan.updated.append(
                RespondentUpdate(n, person.id, changes, r.openid if link else None, r.account if link else None)
            )
        else:
            plan.unchanged.append(n)
    plan.errors.sort()
    return plan


async def _load_existing(s: AsyncSession, ids: set[int]) -> dict[int, _Existing]:
    found: dict[int, _Existing] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for rid, name, phone, category, org_id, tags, opted_out_at in await s.execute(
            select(
                Respondent.id, Respondent.name, Respondent.phone, Respondent.category,
                Respondent.organisation_id, Respondent.tags, Respondent.opted_out_at,
            ).where(Respondent.id.in_(chunk))
        ):  # fmt: skip
            found[rid] = _Existing(rid, name, phone, category, org_id, tags, opted_out_at is not None)
    return found


# ---------------------------------------------------------------- storing


async def apply(
    s: AsyncSession, plan: ImportPlan, *, now: datetime, actor: str = "cli", organisation: str | None = None
) -> ApplyResult:
    """Store `plan` in the caller's transaction (all or nothing: a failure raises and the
    transaction is rolled back). Run it in the transaction of its preview: what the preview
    read is what it changes. Rows with errors, kept out or unchanged are not touched."""
    respondents = cast(Table, Respondent.__table__)
    identities = cast(Table, ChannelIdentity.__table__)
    links: list[dict[str, Any]] = []
    for start in range(0, len(plan.new), _CHUNK):
        chunk = plan.new[start : start + _CHUNK]
        values = [
            {
                "organisation_id": r.organisation_id, "category": r.category, "name": r.name,
                "name_pinyin": pinyin_key(r.name), "phone": r.phone,
                "tags": r.tags, "lang": "zh", "is_test": False, "created_at": now, "updated_at": now,
            }
            for r in chunk
        ]  # fmt: skip
        # insertmanyvalues: one statement per batch, ids returned in the order given.
        result = await s.execute(
            insert(respondents).returning(respondents.c.id, sort_by_parameter_order=True), values
        )
        for r, rid in zip(chunk, result.scalars(), strict=True):
            if r.openid is not None and r.account is not None:
                links.append(_identity(rid, r.account, r.openid, now))
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for u in plan.updated:
        if u.changes:
            changes = dict(u.changes)
            if "name" in changes:  # the search key goes with the name
                changes["name_pinyin"] = pinyin_key(changes["name"])
            by_columns.setdefault(tuple(sorted(changes)), []).append(
                {"_id": u.respondent_id, **{f"v_{c}": v for c, v in changes.items()}}
            )
        if u.openid is not None and u.account is not None:
            links.append(_identity(u.respondent_id, u.account, u.openid, now))
    for columns, params in by_columns.items():
        statement = (
            update(respondents)
            .where(respondents.c.id == bindparam("_id"))
            .values({**{c: bindparam(f"v_{c}", type_=respondents.c[c].type) for c in columns}, "updated_at": now})
        )
        for start in range(0, len(params), _CHUNK):
            await s.execute(statement, params[start : start + _CHUNK])
    for start in range(0, len(links), _CHUNK):
        await s.execute(insert(identities), links[start : start + _CHUNK])
    result = ApplyResult(len(plan.new), sum(1 for u in plan.updated if u.changes), len(links))
    # Who imported how many, for the admins' audit log (never the people's details).
    await AuditRepository(s).record(
        actor=actor,
        action="respondents_imported",
        subject_type="organisation" if organisation else "respondents",
        subject_id=organisation,
        data={
            "organisation": organisation, "created": result.created, "updated": result.updated,
            "identities": result.identities, "kept_out": len(plan.kept_out), "rows_with_errors": len(plan.errors),
        },
        at=now,
    )  # fmt: skip
    return result


def _identity(respondent_id: int, account: str, openid: str, now: datetime) -> dict[str, Any]:
    return {
        "respondent_id": respondent_id, "channel": "wechat", "account": account, "external_id": openid,
        "created_at": now,
    }  # fmt: skip
