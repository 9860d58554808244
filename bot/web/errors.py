"""Refused requests are answered with what was wrong, never with what was sent."""

from __future__ import annotations

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's own handler echoes each refused value. A respondent's words do not belong in
    # an error body (or the logs and proxies it passes), and a lone surrogate cannot even be
    # encoded as UTF-8, which turned a 422 into a 500.
    errors = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})
