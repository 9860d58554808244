"""XLSForm workbooks (.xlsx) in and out: reading the file's cells, refusing what a workbook
may hide (formulas, other formats, sheer size), and publishing what flows.xlsform makes of it.

The conversion itself is flows.xlsform's, on plain rows; here is only the openpyxl side.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.flows import Published, publish_text_in
from flows.schema import Flow
from flows.xlsform import CHOICES, MAX_ROWS, SETTINGS, SURVEY, Cell, XlsError, from_rows, to_rows
from storage.db import Database
from storage.repositories.audit import AuditRepository
from storage.repositories.flows import FlowRepository

MAX_BYTES = 5 * 1024 * 1024  # stated in README; a form of a few hundred rows is under 100 KiB
SHEETS = (SURVEY, CHOICES, SETTINGS)
IMPORTED = "flow_imported"  # the audit action of an XLSForm import, from the CLI or the console


class XlsFormError(Exception):
    def __init__(self, errors: list[XlsError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _cell(sheet: str, row: int, cell: Any, errors: list[XlsError]) -> Cell:
    if getattr(cell, "data_type", None) == "f":
        # A formula's value is whatever Excel last computed, if anything: not a text to trust.
        errors.append(XlsError(sheet, row, f"{cell.coordinate} 是公式 is a formula: type the value itself"))
        return None
    value = cell.value
    if isinstance(value, datetime | date | time):
        errors.append(XlsError(sheet, row, f"{cell.coordinate} 是日期 is a date: format the column as text"))
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def read_rows(data: bytes) -> tuple[dict[str, list[list[Cell]]], list[XlsError]]:
    """The three sheets' cells, header first; errors for what cannot be read."""
    if len(data) > MAX_BYTES:
        return {}, [XlsError("workbook", None, f"文件太大 too large: at most {MAX_BYTES // (1024 * 1024)} MB")]
    if not zipfile.is_zipfile(io.BytesIO(data)):
        problem = "不是 .xlsx 文件 not an .xlsx workbook (save it as .xlsx, not .xls or CSV)"
        return {}, [XlsError("workbook", None, problem)]
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        return {}, [XlsError("workbook", None, f"无法读取 cannot read the workbook: {exc}")]
    errors: list[XlsError] = []
    sheets: dict[str, list[list[Cell]]] = {}
    try:
        by_name = {ws.title.strip().lower(): ws for ws in wb.worksheets}
        for name in SHEETS:
            ws = by_name.get(name)
            if ws is None:
                if name != CHOICES:
                    errors.append(XlsError(name, None, f"缺少 {name} 表 the workbook has no '{name}' sheet"))
                sheets[name] = []
                continue
            rows: list[list[Cell]] = []
            for number, cells in enumerate(ws.iter_rows(), start=1):
                if number > MAX_ROWS:
                    errors.append(XlsError(name, number, f"行数过多 too many rows: at most {MAX_ROWS} per sheet"))
                    break
                rows.append([_cell(name, number, c, errors) for c in cells])
            sheets[name] = rows
    finally:
        wb.close()
    return sheets, errors


def import_workbook(data: bytes) -> dict[str, Any]:
    """The flow definition a workbook describes; XlsFormError naming sheet and row otherwise."""
    sheets, errors = read_rows(data)
    if errors:
        raise XlsFormError(errors)
    definition, errors = from_rows(sheets[SURVEY], sheets[CHOICES], sheets[SETTINGS])
    if definition is None:
        raise XlsFormError(errors)
    return definition


def flow_yaml(definition: dict[str, Any]) -> str:
    """The definition as a flow file, so the stored version has a source people can read."""
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=100)


async def publish_workbook(
    s: AsyncSession, file_name: str, data: bytes, *, organisation: str | None, actor: str, now: datetime
) -> Published:
    """Publish the flow a workbook describes, and record who imported it, in the caller's
    transaction: the audit entry is stored with the version or not at all."""
    definition = import_workbook(data)
    published = await publish_text_in(s, f"{Path(file_name).stem}.yaml", flow_yaml(definition), now=now,
                                      organisation=organisation)  # fmt: skip
    await AuditRepository(s).record(
        actor=actor,
        action=IMPORTED,
        subject_type="flow",
        subject_id=published.flow_id,
        data={
            "organisation": organisation,
            "version": published.version,
            "created": published.created,
            "file": Path(file_name).name,
            "format": "xlsform",
        },  # fmt: skip
        at=now,
    )
    return published


def workbook_bytes(flow: Flow) -> bytes:
    wb = Workbook()
    assert wb.active is not None  # a new workbook has one sheet
    wb.remove(wb.active)
    for name, rows in zip(SHEETS, to_rows(flow), strict=True):
        ws = wb.create_sheet(name)
        for values in rows:
            ws.append(values)
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # a text that begins with "=" stays text, not a formula
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def stored_flow(db: Database, code: str) -> Flow | None:
    """The latest stored version of the flow `code`."""
    async with db.transaction() as s:
        version = await FlowRepository(s).latest(code)
        return None if version is None else Flow.model_validate(version.definition)
