"""XLSForm (the ODK/Kobo spreadsheet standard) to flows and back, on rows handed in.

Pure: the workbook is read and written by bot.services.xlsform; here a sheet is a list of
rows of cell values, the header first.
"""

from flows.xlsform.common import CHOICES, MAX_CELL_CHARS, MAX_ROWS, SETTINGS, SURVEY, Cell, Rows, XlsError
from flows.xlsform.read import from_rows
from flows.xlsform.write import to_rows

__all__ = [
    "CHOICES", "MAX_CELL_CHARS", "MAX_ROWS", "SETTINGS", "SURVEY", "Cell", "Rows", "XlsError", "from_rows", "to_rows",
]  # fmt: skip
