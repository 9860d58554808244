"""Security headers for every console page and API answer, and no caching of them.

A pure ASGI middleware rather than a per-route step, so that error pages, redirects and
responses a route builds itself get the headers too.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_PREFIXES = ("/console", "/api/v1")
STATIC_PREFIX = "/console/static/"

# No inline script or style anywhere in the console: everything comes from /console/static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

_ALWAYS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]
# Pages show people's answers and staff data: never kept by the browser or a proxy.
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


class ConsoleHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(CONSOLE_PREFIXES):
            await self.app(scope, receive, send)
            return
        extra = _ALWAYS if path.startswith(STATIC_PREFIX) else _ALWAYS + _NO_STORE

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in extra}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, with_headers)
