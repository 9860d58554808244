"""/console/static/…: the console's own CSS and scripts, and vendored libraries under
vendor/, served by huifang itself, since many offices cannot reach foreign CDNs. Read once;
only the files shipped in admin/static exist, so no path from a request ever reaches the
file system."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from admin.pages import static_files

_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}


def static_router() -> APIRouter:
    files = {name: body for name, body in static_files().items() if Path(name).suffix in _TYPES}
    router = APIRouter(prefix="/console/static", include_in_schema=False)

    @router.get("/{name:path}")
    async def asset(name: str) -> Response:
        body = files.get(name)
        if body is None:
            raise HTTPException(404)
        suffix = name[name.rindex(".") :]
        # URLs carry a content hash (?v=…, see admin.pages), so a changed file is a new URL.
        return Response(body, media_type=_TYPES[suffix], headers={"Cache-Control": "public, max-age=86400"})

    return router
