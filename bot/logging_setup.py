"""Logging for the long-running processes (`huifang serve`, `huifang worker`), set up in one
place so that personal data stays out of the logs:

- uvicorn's access log prints the path without its query string: WeChat puts the sender's
  openid and the request's signatures there.
- every record through the root handlers has WeChat openids and mainland mobile numbers
  masked (oAbC…xyz, 138****0000), whichever module logged them.
- httpx's request lines (WeChat API URLs carry the access_token) are not logged.

SQL parameters are kept out of errors by the engine itself (storage.db, hide_parameters).
"""

from __future__ import annotations

import logging
import re
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# An openid is "o" and 27 characters of URL-safe base64; a mainland mobile number is 11
# digits starting 13–19. Neither may be part of a longer run of the same characters, so
# message ids, timestamps and tokens are left alone.
OPENID = re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")

_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def mask(text: str) -> str:
    """`text` with openids and mobile numbers masked; enough is left to tell people apart
    when reading a log, not enough to reach them."""
    text = OPENID.sub(lambda m: f"{m[0][:4]}…{m[0][-3:]}", text)
    return PHONE.sub(lambda m: f"{m[0][:3]}****{m[0][-4:]}", text)


class PersonalDataFilter(logging.Filter):
    """Masks openids and mobile numbers in a record's message, arguments, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it, as it would
            return True
        masked = mask(message)
        if masked != message:
            # Formatted once here, so no argument can carry the unmasked value further.
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text, so the masked traceback is the one printed.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


class PathWithoutQuery(logging.Filter):
    """uvicorn's access line with the path only: '%s - "%s %s HTTP/%s" %d' whose third
    argument is the path with the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.args = (client, method, str(path).split("?", 1)[0], version, status)
        return True


def configure_logging(level: int | str = logging.INFO, *, stream: TextIO | None = None) -> logging.Handler:
    """One handler on the root logger (stderr unless `stream`), with the filters above;
    replaces the root's handlers and makes uvicorn's loggers go through it. Run uvicorn with
    log_config=None afterwards, or it installs its own handlers, which print query strings."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(PathWithoutQuery())
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        # uvicorn's default dictConfig gives these their own handlers and stops propagation,
        # which would bypass the filters.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # The query string is also cut where the record is made, for handlers added later.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, PathWithoutQuery) for f in access.filters):
        access.addFilter(PathWithoutQuery())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return handler
