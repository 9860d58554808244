"""Refused requests are answered with what was wrong, never with what was sent."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DBAPIError, StatementError

log = logging.getLogger(__name__)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's own handler echoes each refused value. A respondent's words do not belong in
    # an error body (or the logs and proxies it passes), and a lone surrogate cannot even be
    # encoded as UTF-8, which turned a 422 into a 500.
    errors = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


OUT_OF_RANGE = "数字或日期超出范围 a number or date is out of range"
# What such a value raises, for the app to map (a column's conversion wraps it in a
# StatementError; DBAPIError, the driver's refusal, is one too).
OUT_OF_RANGE_ERRORS: tuple[type[Exception], ...] = (OverflowError, StatementError)


def out_of_range(exc: BaseException) -> bool:
    """Whether a request failed on a value no column or date can hold: an id past 2⁶³
    (SQLite's OverflowError; PostgreSQL's data exception, SQLSTATE class 22), a date in year 1
    moved past the calendar's start. Such values come from the URL, not from a fault here."""
    if isinstance(exc, OverflowError):
        return True
    if isinstance(exc, DBAPIError):
        cause = exc.orig.__cause__ if exc.orig is not None else None
        return str(getattr(cause, "sqlstate", "") or "").startswith("22")
    # A column's own conversion (a timezone-aware time in year 1 made UTC) wraps the error.
    return isinstance(exc, StatementError) and isinstance(exc.orig, OverflowError)


async def value_out_of_range(request: Request, exc: Exception) -> Response:
    if not out_of_range(exc):
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return PlainTextResponse("Internal Server Error", status_code=500)
    return JSONResponse(status_code=422, content={"detail": OUT_OF_RANGE})
